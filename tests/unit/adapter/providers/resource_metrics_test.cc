// metrics.k8s.io from resourceRules: which pods and nodes are reported,
// per-container readings, and what happens to unusable samples.
#include <gtest/gtest.h>

#include <limits>

#include "adapter/providers/resource_metrics_provider.h"
#include "fake_clock.h"
#include "fake_object_lister.h"
#include "fake_prometheus.h"
#include "serving_fixture.h"

using namespace adapter;
using namespace providertest;
using mocks::sample;

namespace {

const char* kRules = R"(resourceRules:
  cpu:
    containerQuery: sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>}[3m])) by (<<.GroupBy>>)
    nodeQuery: sum(rate(node_cpu_seconds_total{<<.LabelMatchers>>}[3m])) by (<<.GroupBy>>)
    resources: {overrides: {pod: {resource: pod}, namespace: {resource: namespace}, node: {resource: node}}}
    containerLabel: container
  memory:
    containerQuery: sum(container_memory_working_set_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    nodeQuery: sum(node_memory_working_set_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    resources: {overrides: {pod: {resource: pod}, namespace: {resource: namespace}, node: {resource: node}}}
    containerLabel: container
  window: 3m
)";

const char* kPodCpu = "container_cpu_usage_seconds_total";
const char* kPodMemory = "container_memory_working_set_bytes";
const char* kNodeCpu = "node_cpu_seconds_total";
const char* kNodeMemory = "node_memory_working_set_bytes";

const double kNaN = std::numeric_limits<double>::quiet_NaN();

adapter::Sample container(const std::string& ns, const std::string& pod, const std::string& c,
                          double value, int64_t ts = kNow) {
  return sample({{"namespace", ns}, {"pod", pod}, {"container", c}}, value, ts);
}
adapter::Sample node(const std::string& name, double value, int64_t ts = kNow) {
  return sample({{"node", name}}, value, ts);
}

struct Fixture {
  ServingState state;
  mocks::FakePrometheus backend;
  mocks::FakeClock clock{kNow + 9000};
  std::ostringstream logs;
  common::Logger log{logs, 4, common::Logger::Format::Text};
  mocks::FakeObjectLister lister;
  PrometheusResourceMetrics provider{state, backend, clock, log, &lister};
  PrometheusResourceMetrics standalone{state, backend, clock, log, nullptr};

  void discover(const char* yaml = kRules) { publish(state, compileRules(yaml), {}); }
  size_t queriesContaining(const std::string& fragment) const {
    size_t n = 0;
    for (const auto& q : backend.queries()) n += q.promql.find(fragment) != std::string::npos;
    return n;
  }
};

std::vector<std::string> podNames(const std::vector<apiservice::PodMetricsItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.ns + "/" + i.name);
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST(PrometheusResourceMetrics, ServedOnlyWithResourceRules) {
  Fixture f;
  EXPECT_FALSE(f.provider.servesResourceMetrics()) << "before the first discovery";
  std::string message;
  EXPECT_EQ(codeOf([&] { f.provider.podMetrics("default", "", ""); }, &message), 503);
  EXPECT_EQ(message, "metric discovery has not completed yet; retry shortly");
  EXPECT_EQ(codeOf([&] { f.provider.nodeMetrics("", ""); }), 503);
  f.discover(R"(externalRules:
- seriesQuery: 'x'
  metricsQuery: x
)");
  EXPECT_FALSE(f.provider.servesResourceMetrics());
  EXPECT_EQ(codeOf([&] { f.provider.podMetrics("default", "", ""); }, &message), 404);
  EXPECT_EQ(message, "metrics.k8s.io is not served: the config has no resourceRules");
  EXPECT_EQ(codeOf([&] { f.provider.nodeMetrics("n1", ""); }), 404);
  f.discover();
  EXPECT_TRUE(f.provider.servesResourceMetrics());
  EXPECT_EQ(f.backend.queryCount(), 0u);
}

TEST(PrometheusResourceMetrics, PodsComeFromTheListerAndNeedBothReadings) {
  Fixture f;
  f.discover();
  f.lister.add("pods", "default", "web-1", {{"app", "web"}});
  f.lister.add("pods", "default", "web-2", {{"app", "web"}});
  f.lister.add("pods", "default", "job-1", {{"app", "web"}}, /*running=*/false);
  f.lister.add("pods", "default", "db-0", {{"app", "db"}});
  f.backend.answerQueryContaining(
      kPodCpu,
      {container("default", "web-1", "app", 0.25, kNow - 2000),
       container("default", "web-1", "sidecar", 0.01, kNow - 1000),
       container("default", "web-2", "app", 0.5), container("default", "job-1", "app", 1)});
  f.backend.answerQueryContaining(kPodMemory, {container("default", "web-1", "app", 1e8, kNow),
                                               container("default", "job-1", "app", 1e9)});
  auto items = f.provider.podMetrics("default", "", "app=web");
  EXPECT_EQ(podNames(items), Names{"default/web-1"})
      << "web-2 has no memory reading; job-1 is not running";
  ASSERT_EQ(items.size(), 1u);
  const auto& p = items[0];
  EXPECT_EQ(p.labels, (std::map<std::string, std::string>{{"app", "web"}}));
  EXPECT_EQ(p.windowSeconds, 180);
  EXPECT_EQ(p.timestampMs, kNow - 2000) << "the earliest reading";
  ASSERT_EQ(p.containers.size(), 2u);
  EXPECT_EQ(p.containers[0].name, "app");
  EXPECT_EQ(p.containers[0].cpuCores, 0.25);
  EXPECT_EQ(p.containers[0].memoryBytes, 1e8);
  EXPECT_EQ(p.containers[1].name, "sidecar");
  EXPECT_EQ(p.containers[1].cpuCores, 0.01);
  EXPECT_FALSE(p.containers[1].memoryBytes.has_value()) << "absent, never zero";
  // The lister was asked for running pods matching the selector.
  ASSERT_EQ(f.lister.queryCount(), 1u);
  auto q = f.lister.queries()[0];
  EXPECT_EQ(q.call, "objects");
  EXPECT_EQ(q.resource, "pods");
  EXPECT_EQ(q.ns, "default");
  EXPECT_EQ(q.selectorText, "app=web");
  EXPECT_TRUE(q.runningPodsOnly);
  EXPECT_EQ(f.backend.queryCount(), 2u) << "one cpu and one memory query";
  EXPECT_EQ(f.backend.queries()[0].timeMs, kNow + 9000);
  EXPECT_NE(f.backend.queries()[0].promql.find("pod=~\"web-1|web-2\""), std::string::npos)
      << f.backend.queries()[0].promql;
}

TEST(PrometheusResourceMetrics, OneNamedPodAndPodsAcrossNamespaces) {
  Fixture f;
  f.discover();
  f.lister.add("pods", "a", "web-1");
  f.lister.add("pods", "b", "web-1");
  f.lister.add("pods", "b", "web-2");
  // As Prometheus would: each namespace's query answers its own pods.
  f.backend.answerQueryContaining("namespace=\"a\"", {container("a", "web-1", "app", 1)});
  f.backend.answerQueryContaining(
      "namespace=\"b\"", {container("b", "web-1", "app", 2), container("b", "web-2", "app", 3)});
  EXPECT_EQ(podNames(f.provider.podMetrics("b", "web-2", "")), Names{"b/web-2"});
  EXPECT_EQ(f.backend.queryCount(), 2u);
  f.backend.forgetCalls();
  // Every namespace: one pair of queries per namespace (names repeat).
  auto all = f.provider.podMetrics("", "", "");
  EXPECT_EQ(podNames(all), (Names{"a/web-1", "b/web-1", "b/web-2"}));
  EXPECT_EQ(f.backend.queryCount(), 4u);
  EXPECT_EQ(f.queriesContaining("namespace=\"a\""), 2u);
  EXPECT_EQ(f.queriesContaining("namespace=\"b\""), 2u);
  // Each namespace's readings stay with its pods (the names repeat).
  EXPECT_EQ(all[0].containers.at(0).cpuCores, 1);
  EXPECT_EQ(all[1].containers.at(0).cpuCores, 2);
  EXPECT_EQ(all[2].containers.at(0).cpuCores, 3);
  f.backend.forgetCalls();
  EXPECT_TRUE(f.provider.podMetrics("c", "", "").empty()) << "no pods: nothing to report";
  EXPECT_TRUE(f.provider.podMetrics("a", "web-9", "").empty());
  EXPECT_EQ(f.backend.queryCount(), 0u) << "and nothing to ask";
}

TEST(PrometheusResourceMetrics, SeveralSamplesForOneContainerKeepTheLast) {
  // Pinned as it is: unlike custom metrics (500), a duplicate reading for
  // one container is not an error; the backend's last sample wins.
  Fixture f;
  f.discover();
  f.lister.add("pods", "default", "web-1");
  f.lister.add("nodes", "", "n1");
  f.backend.answerQueryContaining(kPodCpu, {container("default", "web-1", "app", 0.5),
                                            container("default", "web-1", "app", 0.7)});
  f.backend.answerQueryContaining(kPodMemory, {container("default", "web-1", "app", 10),
                                               container("default", "web-1", "app", 20),
                                               container("default", "web-1", "app", 15)});
  auto items = f.provider.podMetrics("default", "web-1", "");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_EQ(items[0].containers.size(), 1u);
  EXPECT_EQ(items[0].containers[0].cpuCores, 0.7);
  EXPECT_EQ(items[0].containers[0].memoryBytes, 15);
  f.backend.answerQueryContaining(kNodeCpu, {node("n1", 2), node("n1", 3)});
  f.backend.answerQueryContaining(kNodeMemory, {node("n1", 100)});
  auto nodes = f.provider.nodeMetrics("n1", "");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].cpuCores, 3);
}

TEST(PrometheusResourceMetrics, NaNInfAndNegativeReadingsAreLeftOut) {
  Fixture f;
  f.discover();
  f.lister.add("pods", "default", "web-1");
  f.backend.answerQueryContaining(
      kPodCpu, {container("default", "web-1", "app", kNaN), container("default", "web-1", "b", -1),
                container("default", "web-1", "c", 0), container("default", "web-1", "", 7),
                sample({{"namespace", "default"}, {"pod", "web-1"}}, 8)});
  f.backend.answerQueryContaining(
      kPodMemory, {container("default", "web-1", "app", 5),
                   container("default", "web-1", "b", std::numeric_limits<double>::infinity())});
  auto items = f.provider.podMetrics("default", "", "");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_EQ(items[0].containers.size(), 2u)
      << "b has no usable reading; samples without a container name are no container's";
  EXPECT_EQ(items[0].containers[0].name, "app");
  EXPECT_FALSE(items[0].containers[0].cpuCores.has_value());
  EXPECT_EQ(items[0].containers[0].memoryBytes, 5);
  EXPECT_EQ(items[0].containers[1].name, "c");
  EXPECT_EQ(items[0].containers[1].cpuCores, 0) << "zero is a reading";
  EXPECT_FALSE(items[0].containers[1].memoryBytes.has_value());
  // A pod whose readings are all unusable is left out.
  f.backend.answerQueryContaining(kPodCpu, {container("default", "web-1", "app", kNaN)});
  EXPECT_TRUE(f.provider.podMetrics("default", "", "").empty());
}

TEST(PrometheusResourceMetrics, StandalonePodsComeFromTheSeries) {
  Fixture f;
  f.discover();
  std::string message;
  EXPECT_EQ(codeOf([&] { f.standalone.podMetrics("default", "", "app=web"); }, &message), 400);
  EXPECT_EQ(message, "labelSelector on pods needs a Kubernetes connection (--standalone)");
  EXPECT_EQ(codeOf([&] { f.standalone.podMetrics("", "", ""); }, &message), 400);
  EXPECT_EQ(message,
            "listing pod metrics across namespaces needs a Kubernetes connection (--standalone)");
  EXPECT_EQ(f.backend.queryCount(), 0u);
  f.backend.answerQueryContaining(
      kPodCpu, {container("default", "web-1", "app", 1), container("default", "web-2", "app", 2)});
  f.backend.answerQueryContaining(kPodMemory, {container("default", "web-1", "app", 3)});
  auto items = f.standalone.podMetrics("default", "", "");
  EXPECT_EQ(podNames(items), Names{"default/web-1"});
  EXPECT_TRUE(items[0].labels.empty()) << "no lister, no labels";
  EXPECT_NE(f.backend.lastQuery().find("pod=~\".+\""), std::string::npos) << f.backend.lastQuery();
  f.standalone.podMetrics("default", "web-1", "");
  EXPECT_NE(f.backend.lastQuery().find("pod=\"web-1\""), std::string::npos)
      << f.backend.lastQuery();
}

TEST(PrometheusResourceMetrics, NodesFromTheListerOrTheSeries) {
  Fixture f;
  f.discover();
  f.lister.add("nodes", "", "n1", {{"zone", "a"}});
  f.lister.add("nodes", "", "n2", {{"zone", "b"}});
  f.lister.add("nodes", "", "n3", {{"zone", "a"}});
  f.backend.answerQueryContaining(kNodeCpu,
                                  {node("n1", 1.5, kNow - 10), node("n2", 2), node("n3", 3)});
  f.backend.answerQueryContaining(kNodeMemory, {node("n1", 4e9, kNow - 20), node("n2", 5e9)});
  auto nodes = f.provider.nodeMetrics("", "zone=a");
  ASSERT_EQ(nodes.size(), 1u) << "n3 has no memory reading";
  EXPECT_EQ(nodes[0].name, "n1");
  EXPECT_EQ(nodes[0].labels, (std::map<std::string, std::string>{{"zone", "a"}}));
  EXPECT_EQ(nodes[0].cpuCores, 1.5);
  EXPECT_EQ(nodes[0].memoryBytes, 4e9);
  EXPECT_EQ(nodes[0].timestampMs, kNow - 20);
  EXPECT_EQ(nodes[0].windowSeconds, 180);
  EXPECT_EQ(f.lister.queries().back().resource, "nodes");
  EXPECT_EQ(f.lister.queries().back().selectorText, "zone=a");
  EXPECT_EQ(f.backend.queryCount(), 2u);
  EXPECT_TRUE(f.provider.nodeMetrics("n9", "").empty());
  EXPECT_EQ(f.backend.queryCount(), 2u) << "an unknown node needs no query";
  // --standalone: the nodes with series.
  std::string message;
  EXPECT_EQ(codeOf([&] { f.standalone.nodeMetrics("", "zone=a"); }, &message), 400);
  EXPECT_EQ(message, "labelSelector on nodes needs a Kubernetes connection (--standalone)");
  auto all = f.standalone.nodeMetrics("", "");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "n1");
  EXPECT_EQ(all[1].name, "n2");
  EXPECT_TRUE(all[0].labels.empty());
}

TEST(PrometheusResourceMetrics, BackendAndListerFailures) {
  Fixture f;
  f.discover();
  f.lister.add("pods", "default", "web-1");
  std::string message;
  f.backend.failQueries("connection refused", true);
  EXPECT_EQ(codeOf([&] { f.provider.podMetrics("default", "", ""); }, &message), 503);
  EXPECT_EQ(message, "connection refused");
  f.backend.heal();
  f.backend.failQueries("bad_data", false);
  EXPECT_EQ(codeOf([&] { f.standalone.nodeMetrics("", ""); }), 500);
  f.backend.heal();
  EXPECT_EQ(codeOf([&] { f.provider.podMetrics("default", "", "app in (x"); }, &message), 400);
  EXPECT_EQ(message.rfind("labelSelector: ", 0), 0u) << message;
  f.lister.fail(apiservice::StatusError::internal("cannot list pods: forbidden"));
  EXPECT_EQ(codeOf([&] { f.provider.podMetrics("default", "", ""); }, &message), 500);
  EXPECT_EQ(message, "cannot list pods: forbidden");
}
