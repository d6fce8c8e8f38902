// custom.metrics.k8s.io from the rules: which status every failure becomes,
// which objects a request names, and that samples become values only when
// they are unambiguous and finite.
#include "adapter/providers/custom_rules_provider.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fake_clock.h"
#include "fake_object_lister.h"
#include "fake_prometheus.h"
#include "run_task.h"
#include "serving_fixture.h"

using namespace adapter;
using namespace providertest;
using mocks::sample;

namespace {

const char* kRules = R"(rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^(.*)_total$
    as: ${1}_per_second
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
- seriesQuery: 'node_temperature_celsius{node!=""}'
  resources:
    overrides:
      node: {resource: node}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
)";

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

struct Fixture {
  ServingState state;
  mocks::FakePrometheus backend;
  mocks::FakeClock clock{kNow + 5000};
  std::ostringstream logs;
  common::Logger log{logs, 4, common::Logger::Format::Text};
  mocks::FakeObjectLister lister;
  // With a Kubernetes connection (the lister) and --standalone.
  CustomRulesProvider provider{state, backend, clock, log, &lister};
  CustomRulesProvider standalone{state, backend, clock, log, nullptr};

  void discover() {
    publish(state, compileRules(kRules),
            {{R"(http_requests_total{namespace!="",pod!=""})",
              {{"http_requests_total", {"namespace", "pod"}}}},
             {R"(node_temperature_celsius{node!=""})", {{"node_temperature_celsius", {"node"}}}}});
  }
  static apiservice::ObjectMetricRequest pods(const std::string& name,
                                              const std::string& labelSelector = "",
                                              const std::string& metricLabelSelector = "") {
    return {"pods",        "default",          name, "http_requests_per_second",
            labelSelector, metricLabelSelector};
  }
  std::vector<std::string> names(const std::vector<apiservice::ObjectMetricValue>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) out.push_back(v.object.name);
    return out;
  }
};

using Names = std::vector<std::string>;

}  // namespace

TEST(CustomRulesProvider, UnavailableUntilTheFirstDiscovery) {
  Fixture f;
  EXPECT_TRUE(f.provider.listCustomMetrics().empty());
  std::string message;
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
          },
          &message),
      503);
  EXPECT_EQ(message, "metric discovery has not completed yet; retry shortly");
  EXPECT_EQ(f.backend.queryCount(), 0u);
}

TEST(CustomRulesProvider, ListsWhatTheCatalogHolds) {
  Fixture f;
  f.discover();
  std::vector<std::tuple<std::string, bool, std::string>> got;
  for (const auto& m : f.provider.listCustomMetrics())
    got.emplace_back(m.resource, m.namespaced, m.metric);
  EXPECT_EQ(got, (std::vector<std::tuple<std::string, bool, std::string>>{
                     {"namespaces", false, "http_requests_per_second"},
                     {"nodes", false, "node_temperature_celsius"},
                     {"pods", true, "http_requests_per_second"}}));
}

TEST(CustomRulesProvider, UnknownResourcesAndMetricsAre404) {
  Fixture f;
  f.discover();
  std::string message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.provider.getObjectMetric(
                      {"widgets", "default", "w", "http_requests_per_second", "", ""},
                      mocks::farDeadline()));
                },
                &message),
            404);
  EXPECT_EQ(message, "resource \"widgets\" is not a known Kubernetes resource");
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.provider.getObjectMetric(
                      {"pods", "default", "web-1", "nope", "", ""}, mocks::farDeadline()));
                },
                &message),
            404);
  EXPECT_EQ(message,
            "the server could not find the metric \"nope\" for pods (no rule produced it from the "
            "series seen at the last discovery)");
  // A metric of pods is not a metric of services.
  EXPECT_EQ(codeOf([&] {
              mocks::run(f.provider.getObjectMetric(
                  {"services", "default", "s", "http_requests_per_second", "", ""},
                  mocks::farDeadline()));
            }),
            404);
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.provider.getObjectMetric(
                      {"nodes", "default", "n1", "node_temperature_celsius", "", ""},
                      mocks::farDeadline()));
                },
                &message),
            404);
  EXPECT_EQ(message, "nodes is cluster-scoped: request it without a namespace");
  EXPECT_EQ(f.backend.queryCount(), 0u) << "nothing to ask the backend";
  EXPECT_EQ(f.lister.queryCount(), 0u);
}

TEST(CustomRulesProvider, ANamedObjectRunsOneQueryForItAtTheClocksNow) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries(
      {sample({{"namespace", "default"}, {"pod", "web-1"}}, 2.5, kNow + 1000)});
  auto v = mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].object.kind, "Pod");
  EXPECT_EQ(v[0].object.ns, "default");
  EXPECT_EQ(v[0].object.name, "web-1");
  EXPECT_EQ(v[0].object.apiVersion, "/v1");
  EXPECT_EQ(v[0].metric, "http_requests_per_second");
  EXPECT_EQ(v[0].value, 2.5);
  EXPECT_EQ(v[0].timestampMs, kNow + 1000) << "the sample's time, not the clock's";
  ASSERT_EQ(f.backend.queryCount(), 1u);
  auto q = f.backend.queries()[0];
  EXPECT_EQ(q.promql,
            "sum(rate(http_requests_total{namespace=\"default\",pod=\"web-1\"}[2m])) by (pod)");
  EXPECT_EQ(q.timeMs, kNow + 5000);
  EXPECT_EQ(f.lister.queryCount(), 0u) << "a named object needs no listing";
}

TEST(CustomRulesProvider, ClusterScopedObjectsHaveNoNamespace) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries({sample({{"node", "n1"}}, 41)});
  auto v = mocks::run(f.provider.getObjectMetric(
      {"nodes", "", "n1", "node_temperature_celsius", "", ""}, mocks::farDeadline()));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].object.kind, "Node");
  EXPECT_EQ(v[0].object.ns, "");
  EXPECT_EQ(v[0].value, 41);
  EXPECT_EQ(f.backend.lastQuery(), "max(node_temperature_celsius{node=\"n1\"}) by (node)");
}

TEST(CustomRulesProvider, ANamedObjectWithoutASampleIs404ButStarIsAnEmptyList) {
  Fixture f;
  f.discover();
  std::string message;
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
          },
          &message),
      404);
  EXPECT_EQ(message,
            "no value for metric \"http_requests_per_second\" on pods \"web-1\" in namespace "
            "\"default\" (the query returned no sample for it)");
  EXPECT_TRUE(
      mocks::run(f.standalone.getObjectMetric(Fixture::pods("*"), mocks::farDeadline())).empty());
  f.lister.add("pods", "default", "web-1");
  EXPECT_TRUE(
      mocks::run(f.provider.getObjectMetric(Fixture::pods("*"), mocks::farDeadline())).empty())
      << "objects that exist but have no sample: an empty list";
  EXPECT_EQ(f.backend.queryCount(), 3u);
}

TEST(CustomRulesProvider, StarWithALister404sWhenNoObjectMatches) {
  Fixture f;
  f.discover();
  f.lister.add("pods", "default", "web-1", {{"app", "web"}});
  f.lister.add("pods", "other", "db-0", {{"app", "db"}});
  f.backend.answerOtherQueries({sample({{"pod", "db-0"}}, 1)});
  std::string message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.provider.getObjectMetric(Fixture::pods("*", "app=db"),
                                                        mocks::farDeadline()));
                },
                &message),
            404);
  EXPECT_EQ(message,
            "no pods match labelSelector \"app=db\" in namespace \"default\", so there is no "
            "value of metric \"http_requests_per_second\" to report");
  EXPECT_EQ(f.backend.queryCount(), 0u) << "no objects, no query";
  ASSERT_EQ(f.lister.queryCount(), 1u);
  auto q = f.lister.queries()[0];
  EXPECT_EQ(q.call, "names");
  EXPECT_EQ(q.resource, "pods");
  EXPECT_EQ(q.ns, "default");
  EXPECT_EQ(q.selectorText, "app=db");
  EXPECT_FALSE(q.runningPodsOnly);
  // Cluster-scoped, no selector: the message names neither.
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(
                {"nodes", "", "*", "node_temperature_celsius", "", ""}, mocks::farDeadline()));
          },
          &message),
      404);
  EXPECT_EQ(message,
            "no nodes match, so there is no value of metric \"node_temperature_celsius\" to "
            "report");
}

TEST(CustomRulesProvider, OnlyTheRequestedObjectsAreReturned) {
  Fixture f;
  f.discover();
  // The query (a regex over names) may match more than was asked for.
  f.backend.answerOtherQueries({sample({{"pod", "web-3"}}, 3), sample({{"pod", "web-1"}}, 1),
                                sample({{"pod", "web-2"}}, 2), sample({{"other", "x"}}, 9)});
  EXPECT_EQ(
      f.names(mocks::run(f.provider.getObjectMetric(Fixture::pods("web-2"), mocks::farDeadline()))),
      Names{"web-2"});
  f.lister.add("pods", "default", "web-3", {{"app", "web"}});
  f.lister.add("pods", "default", "web-1", {{"app", "web"}});
  f.lister.add("pods", "default", "web-2", {{"app", "db"}});
  auto v =
      mocks::run(f.provider.getObjectMetric(Fixture::pods("*", "app=web"), mocks::farDeadline()));
  EXPECT_EQ(f.names(v), (Names{"web-1", "web-3"})) << "sorted by name";
  EXPECT_EQ(v[1].value, 3);
  EXPECT_EQ(f.backend.lastQuery(),
            "sum(rate(http_requests_total{namespace=\"default\",pod=~\"web-1|web-3\"}[2m])) by "
            "(pod)");
  // --standalone: every object with a sample (and the object label).
  EXPECT_EQ(
      f.names(mocks::run(f.standalone.getObjectMetric(Fixture::pods("*"), mocks::farDeadline()))),
      (Names{"web-1", "web-2", "web-3"}));
  EXPECT_EQ(f.backend.lastQuery(),
            "sum(rate(http_requests_total{namespace=\"default\",pod=~\".+\"}[2m])) by (pod)");
  EXPECT_EQ(f.backend.queryCount(), 3u) << "one query per request";
}

TEST(CustomRulesProvider, SeveralSamplesForOneObjectAre500) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries({sample({{"pod", "web-1"}, {"code", "200"}}, 1),
                                sample({{"pod", "web-1"}, {"code", "500"}}, 2)});
  std::string message;
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
          },
          &message),
      500);
  EXPECT_EQ(message,
            "rules[0]: the query returned several samples for pods \"web-1\"; metricsQuery must "
            "aggregate by the object label, e.g. sum(...) by (<<.GroupBy>>)");
  EXPECT_EQ(codeOf([&] {
              mocks::run(f.standalone.getObjectMetric(Fixture::pods("*"), mocks::farDeadline()));
            }),
            500);
  // Checked before non-finite samples are dropped: one finite sample of two
  // is still an arbitrary pick.
  f.backend.answerOtherQueries({sample({{"pod", "web-1"}}, kNaN), sample({{"pod", "web-1"}}, 2)});
  EXPECT_EQ(codeOf([&] {
              mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
            }),
            500);
}

TEST(CustomRulesProvider, NonFiniteSamplesAreDropped) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries({sample({{"pod", "web-1"}}, kNaN), sample({{"pod", "web-2"}}, kInf),
                                sample({{"pod", "web-3"}}, -kInf), sample({{"pod", "web-4"}}, 4)});
  EXPECT_EQ(
      f.names(mocks::run(f.standalone.getObjectMetric(Fixture::pods("*"), mocks::farDeadline()))),
      Names{"web-4"});
  std::string message;
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
          },
          &message),
      404);
  EXPECT_EQ(message,
            "no value for metric \"http_requests_per_second\" on pods \"web-1\" in namespace "
            "\"default\" (its sample was NaN or infinite)");
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(Fixture::pods("web-2"), mocks::farDeadline()));
          },
          &message),
      404);
  EXPECT_NE(message.find("NaN or infinite"), std::string::npos) << message;
}

TEST(CustomRulesProvider, BadSelectorsAre400) {
  Fixture f;
  f.discover();
  std::string message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1", "", "code in (2"),
                                                        mocks::farDeadline()));
                },
                &message),
            400);
  EXPECT_EQ(message.rfind("metricLabelSelector: ", 0), 0u) << message;
  // Valid Kubernetes syntax PromQL cannot express.
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1", "", "code>2"),
                                                        mocks::farDeadline()));
                },
                &message),
            400);
  EXPECT_EQ(message.rfind("metricLabelSelector: ", 0), 0u) << message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.provider.getObjectMetric(Fixture::pods("*", "app in (a"),
                                                        mocks::farDeadline()));
                },
                &message),
            400);
  EXPECT_EQ(message.rfind("labelSelector: ", 0), 0u) << message;
  EXPECT_EQ(f.backend.queryCount(), 0u);
  EXPECT_EQ(f.lister.queryCount(), 0u);
}

TEST(CustomRulesProvider, MetricLabelSelectorsBecomeMatchers) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries({sample({{"pod", "web-1"}}, 1)});
  mocks::run(
      f.provider.getObjectMetric(Fixture::pods("web-1", "", "code=200"), mocks::farDeadline()));
  EXPECT_EQ(f.backend.lastQuery(),
            "sum(rate(http_requests_total{code=\"200\",namespace=\"default\",pod=\"web-1\"}[2m])) "
            "by (pod)");
}

TEST(CustomRulesProvider, StandaloneCannotEvaluateAnObjectLabelSelector) {
  Fixture f;
  f.discover();
  std::string message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(f.standalone.getObjectMetric(Fixture::pods("*", "app=web"),
                                                          mocks::farDeadline()));
                },
                &message),
            400);
  EXPECT_EQ(message,
            "labelSelector on objects needs a Kubernetes connection to list them; this adapter "
            "runs with --standalone");
  EXPECT_EQ(f.backend.queryCount(), 0u);
}

TEST(CustomRulesProvider, BackendFailuresAre503Or500) {
  Fixture f;
  f.discover();
  std::string message;
  f.backend.failQueries("Post \"http://prometheus:9090/api/v1/query\": connection refused", true);
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
          },
          &message),
      503);
  EXPECT_EQ(message, "Post \"http://prometheus:9090/api/v1/query\": connection refused");
  f.backend.heal();
  f.backend.failQueries("bad_data: parse error at char 5", false);
  EXPECT_EQ(
      codeOf(
          [&] {
            mocks::run(f.provider.getObjectMetric(Fixture::pods("web-1"), mocks::farDeadline()));
          },
          &message),
      500);
  EXPECT_EQ(message, "bad_data: parse error at char 5");
  EXPECT_EQ(f.backend.queryCount(), 2u);
}

TEST(CustomRulesProvider, ListerFailuresPassThrough) {
  Fixture f;
  f.discover();
  f.lister.fail(apiservice::StatusError::unavailable("cannot list pods"));
  std::string message;
  EXPECT_EQ(
      codeOf(
          [&] { mocks::run(f.provider.getObjectMetric(Fixture::pods("*"), mocks::farDeadline())); },
          &message),
      503);
  EXPECT_EQ(message, "cannot list pods");
  EXPECT_EQ(f.backend.queryCount(), 0u);
}
