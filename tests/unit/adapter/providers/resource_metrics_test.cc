// metrics.k8s.io from resourceRules: which pods and nodes are reported,
// per-container readings, and what happens to unusable samples.
#include <gtest/gtest.h>
#include <cmath>

#include <limits>

#include "adapter/providers/resource_metrics_provider.h"
#include "fake_clock.h"
#include "fake_object_lister.h"
#include "fake_prometheus.h"
#include "run_task.h"
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
  EXPECT_EQ(
      codeOf([&] { mocks::run(f.provider.podMetrics("default", "", "", mocks::farDeadline())); },
             &message),
      503);
  EXPECT_EQ(message, "metric discovery has not completed yet; retry shortly");
  EXPECT_EQ(codeOf([&] { mocks::run(f.provider.nodeMetrics("", "", mocks::farDeadline())); }), 503);
  f.discover(R"(externalRules:
- seriesQuery: 'x'
  metricsQuery: x
)");
  EXPECT_FALSE(f.provider.servesResourceMetrics());
  EXPECT_EQ(
      codeOf([&] { mocks::run(f.provider.podMetrics("default", "", "", mocks::farDeadline())); },
             &message),
      404);
  EXPECT_EQ(message, "metrics.k8s.io is not served: the config has no resourceRules");
  EXPECT_EQ(codeOf([&] { mocks::run(f.provider.nodeMetrics("n1", "", mocks::farDeadline())); }),
            404);
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
  auto items = mocks::run(f.provider.podMetrics("default", "", "app=web", mocks::farDeadline()));
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
  EXPECT_EQ(podNames(mocks::run(f.provider.podMetrics("b", "web-2", "", mocks::farDeadline()))),
            Names{"b/web-2"});
  EXPECT_EQ(f.backend.queryCount(), 2u);
  f.backend.forgetCalls();
  // Every namespace: one pair of queries per namespace (names repeat).
  auto all = mocks::run(f.provider.podMetrics("", "", "", mocks::farDeadline()));
  EXPECT_EQ(podNames(all), (Names{"a/web-1", "b/web-1", "b/web-2"}));
  EXPECT_EQ(f.backend.queryCount(), 4u);
  EXPECT_EQ(f.queriesContaining("namespace=\"a\""), 2u);
  EXPECT_EQ(f.queriesContaining("namespace=\"b\""), 2u);
  // Each namespace's readings stay with its pods (the names repeat).
  EXPECT_EQ(all[0].containers.at(0).cpuCores, 1);
  EXPECT_EQ(all[1].containers.at(0).cpuCores, 2);
  EXPECT_EQ(all[2].containers.at(0).cpuCores, 3);
  f.backend.forgetCalls();
  EXPECT_TRUE(mocks::run(f.provider.podMetrics("c", "", "", mocks::farDeadline())).empty())
      << "no pods: nothing to report";
  EXPECT_TRUE(mocks::run(f.provider.podMetrics("a", "web-9", "", mocks::farDeadline())).empty());
  EXPECT_EQ(f.backend.queryCount(), 0u) << "and nothing to ask";
}

TEST(PrometheusResourceMetrics, SeveralSamplesForOneContainerAreRefused) {
  // As custom metrics: two readings for one container mean the query does
  // not aggregate, and picking one would report an arbitrary number.
  // (Until this change the last sample silently won.)
  Fixture f;
  f.discover();
  f.lister.add("pods", "default", "web-1");
  f.lister.add("nodes", "", "n1");
  f.backend.answerQueryContaining(kPodCpu, {container("default", "web-1", "app", 0.5),
                                            container("default", "web-1", "app", 0.7)});
  f.backend.answerQueryContaining(kPodMemory, {container("default", "web-1", "app", 10)});
  std::string message;
  EXPECT_EQ(
      codeOf(
          [&] { mocks::run(f.provider.podMetrics("default", "web-1", "", mocks::farDeadline())); },
          &message),
      500);
  EXPECT_NE(message.find("several samples for pod \"web-1\" container \"app\""), std::string::npos)
      << message;
  EXPECT_NE(message.find("resourceRules.cpu"), std::string::npos) << message;
  // A NaN duplicate is a duplicate too: it is checked before NaN is dropped.
  f.backend.answerQueryContaining(kPodCpu, {container("default", "web-1", "app", 0.5),
                                            container("default", "web-1", "app", NAN)});
  EXPECT_EQ(codeOf([&] {
              mocks::run(f.provider.podMetrics("default", "web-1", "", mocks::farDeadline()));
            }),
            500);
  // Two containers of one pod are not duplicates.
  f.backend.answerQueryContaining(kPodCpu, {container("default", "web-1", "app", 0.5),
                                            container("default", "web-1", "sidecar", 0.1)});
  auto items = mocks::run(f.provider.podMetrics("default", "web-1", "", mocks::farDeadline()));
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].containers.size(), 2u);
  f.backend.answerQueryContaining(kNodeCpu, {node("n1", 2), node("n1", 3)});
  f.backend.answerQueryContaining(kNodeMemory, {node("n1", 100)});
  EXPECT_EQ(
      codeOf([&] { mocks::run(f.provider.nodeMetrics("n1", "", mocks::farDeadline())); }, &message),
      500);
  EXPECT_NE(message.find("node \"n1\""), std::string::npos) << message;
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
  auto items = mocks::run(f.provider.podMetrics("default", "", "", mocks::farDeadline()));
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
  EXPECT_TRUE(mocks::run(f.provider.podMetrics("default", "", "", mocks::farDeadline())).empty());
}

TEST(PrometheusResourceMetrics, StandalonePodsComeFromTheSeries) {
  Fixture f;
  f.discover();
  std::string message;
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.standalone.podMetrics("default", "", "app=web", mocks::farDeadline()));
          },
          &message),
      400);
  EXPECT_EQ(message, "labelSelector on pods needs a Kubernetes connection (--standalone)");
  EXPECT_EQ(codeOf([&] { mocks::run(f.standalone.podMetrics("", "", "", mocks::farDeadline())); },
                   &message),
            400);
  EXPECT_EQ(message,
            "listing pod metrics across namespaces needs a Kubernetes connection (--standalone)");
  EXPECT_EQ(f.backend.queryCount(), 0u);
  f.backend.answerQueryContaining(
      kPodCpu, {container("default", "web-1", "app", 1), container("default", "web-2", "app", 2)});
  f.backend.answerQueryContaining(kPodMemory, {container("default", "web-1", "app", 3)});
  auto items = mocks::run(f.standalone.podMetrics("default", "", "", mocks::farDeadline()));
  EXPECT_EQ(podNames(items), Names{"default/web-1"});
  EXPECT_TRUE(items[0].labels.empty()) << "no lister, no labels";
  EXPECT_NE(f.backend.lastQuery().find("pod=~\".+\""), std::string::npos) << f.backend.lastQuery();
  mocks::run(f.standalone.podMetrics("default", "web-1", "", mocks::farDeadline()));
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
  auto nodes = mocks::run(f.provider.nodeMetrics("", "zone=a", mocks::farDeadline()));
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
  EXPECT_TRUE(mocks::run(f.provider.nodeMetrics("n9", "", mocks::farDeadline())).empty());
  EXPECT_EQ(f.backend.queryCount(), 2u) << "an unknown node needs no query";
  // --standalone: the nodes with series.
  std::string message;
  EXPECT_EQ(
      codeOf([&] { mocks::run(f.standalone.nodeMetrics("", "zone=a", mocks::farDeadline())); },
             &message),
      400);
  EXPECT_EQ(message, "labelSelector on nodes needs a Kubernetes connection (--standalone)");
  auto all = mocks::run(f.standalone.nodeMetrics("", "", mocks::farDeadline()));
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
  EXPECT_EQ(
      codeOf([&] { mocks::run(f.provider.podMetrics("default", "", "", mocks::farDeadline())); },
             &message),
      503);
  EXPECT_EQ(message, "connection refused");
  f.backend.heal();
  f.backend.failQueries("bad_data", false);
  EXPECT_EQ(codeOf([&] { mocks::run(f.standalone.nodeMetrics("", "", mocks::farDeadline())); }),
            500);
  f.backend.heal();
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.podMetrics("default", "", "app in (x", mocks::farDeadline()));
          },
          &message),
      400);
  EXPECT_EQ(message.rfind("labelSelector: ", 0), 0u) << message;
  f.lister.fail(apiservice::StatusError::internal("cannot list pods: forbidden"));
  EXPECT_EQ(
      codeOf([&] { mocks::run(f.provider.podMetrics("default", "", "", mocks::farDeadline())); },
             &message),
      500);
  EXPECT_EQ(message, "cannot list pods: forbidden");
}
