// external.metrics.k8s.io from the externalRules: what is claimed and
// listed, the query a selector becomes, and which samples become values.
#include "adapter/providers/external_rules_provider.h"

#include <gtest/gtest.h>

#include <limits>

#include "fake_clock.h"
#include "fake_prometheus.h"
#include "run_task.h"
#include "serving_fixture.h"

using namespace adapter;
using namespace providertest;
using mocks::sample;

namespace {

const char* kRules = R"(externalRules:
- seriesQuery: 'queue_depth{queue!=""}'
  resources: {namespaced: false}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
- seriesQuery: 'jobs_waiting{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (namespace, queue)
)";

struct Fixture {
  ServingState state;
  mocks::FakePrometheus backend;
  mocks::FakeClock clock{kNow + 7000};
  std::ostringstream logs;
  common::Logger log{logs, 4, common::Logger::Format::Text};
  ExternalRulesProvider provider{state, backend, clock, log};

  void discover() {
    publish(state, compileRules(kRules),
            {{R"(queue_depth{queue!=""})", {{"queue_depth", {"queue", "region"}}}},
             {R"(jobs_waiting{namespace!=""})", {{"jobs_waiting", {"namespace", "queue"}}}}});
  }
  std::vector<apiservice::ExternalMetricValue> get(const std::string& metric,
                                                   const std::string& selector = "",
                                                   const std::string& ns = "default") {
    return mocks::run(provider.getExternalMetric({ns, metric, selector}, mocks::farDeadline()));
  }
};

}  // namespace

TEST(ExternalRulesProvider, NothingIsServedUntilTheFirstDiscovery) {
  Fixture f;
  EXPECT_FALSE(f.provider.servesExternalMetric("queue_depth"));
  EXPECT_TRUE(f.provider.listExternalMetrics().empty());
  std::string message;
  EXPECT_EQ(codeOf([&] { f.get("queue_depth"); }, &message), 503);
  EXPECT_EQ(message, "metric discovery has not completed yet; retry shortly");
  EXPECT_EQ(f.backend.queryCount(), 0u);
}

TEST(ExternalRulesProvider, ClaimsAndListsTheDiscoveredNames) {
  Fixture f;
  f.discover();
  EXPECT_TRUE(f.provider.servesExternalMetric("queue_depth"));
  EXPECT_TRUE(f.provider.servesExternalMetric("jobs_waiting"));
  EXPECT_FALSE(f.provider.servesExternalMetric("nope"));
  EXPECT_EQ(f.provider.listExternalMetrics(),
            (std::vector<std::string>{"jobs_waiting", "queue_depth"}));
  std::string message;
  EXPECT_EQ(codeOf([&] { f.get("nope"); }, &message), 404);
  EXPECT_EQ(message,
            "the server could not find the external metric \"nope\" (no external rule produced "
            "it from the series seen at the last discovery)");
  EXPECT_EQ(f.backend.queryCount(), 0u);
}

TEST(ExternalRulesProvider, SamplesBecomeValuesWithoutTheirName) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries(
      {sample({{"__name__", "queue_depth"}, {"queue", "emails"}}, 12, kNow + 1000),
       sample({{"queue", "orders"}}, 3, kNow + 2000)});
  auto v = f.get("queue_depth", "queue in (emails,orders)");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].metric, "queue_depth");
  EXPECT_EQ(v[0].labels, (std::map<std::string, std::string>{{"queue", "emails"}}))
      << "__name__ is removed";
  EXPECT_EQ(v[0].value, 12);
  EXPECT_EQ(v[0].timestampMs, kNow + 1000);
  EXPECT_EQ(v[1].labels.at("queue"), "orders");
  ASSERT_EQ(f.backend.queryCount(), 1u);
  EXPECT_EQ(f.backend.queries()[0].promql, "sum(queue_depth{queue=~\"emails|orders\"}) by (queue)")
      << "a rule with namespaced: false ignores the namespace";
  EXPECT_EQ(f.backend.queries()[0].timeMs, kNow + 7000);
}

TEST(ExternalRulesProvider, ANamespacedRuleQueriesTheRequestsNamespace) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries({sample({{"namespace", "team-a"}, {"queue", "q"}}, 5)});
  auto v = f.get("jobs_waiting", "", "team-a");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(f.backend.lastQuery(), "sum(jobs_waiting{namespace=\"team-a\"}) by (namespace, queue)");
}

TEST(ExternalRulesProvider, NonFiniteSamplesAreDropped) {
  Fixture f;
  f.discover();
  f.backend.answerOtherQueries({sample({{"queue", "a"}}, std::numeric_limits<double>::quiet_NaN()),
                                sample({{"queue", "b"}}, std::numeric_limits<double>::infinity()),
                                sample({{"queue", "c"}}, -std::numeric_limits<double>::infinity()),
                                sample({{"queue", "d"}}, 0)});
  auto v = f.get("queue_depth");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels.at("queue"), "d");
  EXPECT_EQ(v[0].value, 0) << "zero is a value";
  f.backend.answerOtherQueries(
      {sample({{"queue", "a"}}, std::numeric_limits<double>::quiet_NaN())});
  EXPECT_TRUE(f.get("queue_depth").empty()) << "an empty list, not an error";
}

TEST(ExternalRulesProvider, BadSelectorsAre400) {
  Fixture f;
  f.discover();
  std::string message;
  EXPECT_EQ(codeOf([&] { f.get("queue_depth", "queue in (a"); }, &message), 400);
  EXPECT_EQ(message.rfind("labelSelector: ", 0), 0u) << message;
  EXPECT_EQ(codeOf([&] { f.get("queue_depth", "depth>3"); }, &message), 400)
      << "valid Kubernetes syntax PromQL cannot express";
  EXPECT_EQ(message.rfind("labelSelector: ", 0), 0u) << message;
  EXPECT_EQ(f.backend.queryCount(), 0u);
}

TEST(ExternalRulesProvider, BackendFailuresAre503Or500) {
  Fixture f;
  f.discover();
  std::string message;
  f.backend.failQueries("prometheus timed out", true);
  EXPECT_EQ(codeOf([&] { f.get("queue_depth"); }, &message), 503);
  EXPECT_EQ(message, "prometheus timed out");
  f.backend.heal();
  f.backend.failQueries("execution: query too large", false);
  EXPECT_EQ(codeOf([&] { f.get("queue_depth"); }, &message), 500);
  EXPECT_EQ(message, "execution: query too large");
  f.backend.heal();
  f.get("queue_depth");
  EXPECT_EQ(f.backend.queryCount(), 3u) << "one query per request";
}
