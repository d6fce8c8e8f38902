// Metric discovery: one /series call per distinct seriesQuery over the
// --metrics-max-age window, a snapshot published on success, the previous
// one kept on failure, and a background loop that stops promptly.
#include "adapter/prometheus/relister.h"

#include <gtest/gtest.h>

#include <mutex>
#include <sstream>
#include <thread>

#include "adapter/kube/builtin_resources.h"
#include "fake_clock.h"
#include "fake_prometheus.h"
#include "rules/config.h"

using namespace adapter;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kNow = 1700000000000;

const char* kHttp = R"(http_requests_total{namespace!="",pod!=""})";
const char* kQueue = "queue_depth";

// Two custom rules over one seriesQuery (one /series call) and an external one.
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
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      pod: {resource: pod}
  name:
    matches: ^(.*)_total$
    as: ${1}_count
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: 'queue_depth'
  resources: {namespaced: false}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
)";

std::shared_ptr<const rules::RuleSet> compileRules(const std::string& yaml) {
  return rules::RuleSet::compile(rules::parseConfig(yaml, "relist.yaml"), "relist.yaml",
                                 builtinResources());
}

struct Fixture {
  mocks::FakePrometheus backend;
  ServingState state;
  mocks::FakeClock clock{kNow};
  std::ostringstream logs;
  common::Logger log{logs, 1, common::Logger::Format::Text};
  std::mutex mu;
  std::vector<RelistReport> reports;
  RelistOptions opts{10min, 3min};
  Relister relister{backend,
                    state,
                    clock,
                    [this](const RelistReport& r) {
                      std::lock_guard<std::mutex> lock(mu);
                      reports.push_back(r);
                    },
                    log,
                    opts};

  Fixture() {
    backend.answerSeries(kHttp, {{"http_requests_total", {"namespace", "pod", "code"}},
                                 {"http_requests_total", {"namespace", "pod"}}});
    backend.answerSeries(kQueue, {{"queue_depth", {"queue"}}});
  }
  std::vector<RelistReport> reported() {
    std::lock_guard<std::mutex> lock(mu);
    return reports;
  }
  // Waits (up to 10 s) until `done` holds.
  template <class F>
  bool eventually(F done) {
    for (int i = 0; i < 1000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  }
};

}  // namespace

TEST(Relister, NoRulesNoDiscovery) {
  Fixture f;
  EXPECT_FALSE(f.relister.relistOnce());
  EXPECT_EQ(f.backend.seriesCallCount(), 0u);
  EXPECT_FALSE(f.state.ready());
  EXPECT_TRUE(f.reported().empty()) << "nothing was attempted";
}

TEST(Relister, PublishesTheCatalogAndReportsIt) {
  Fixture f;
  f.relister.setRules(compileRules(kRules), 4);
  ASSERT_TRUE(f.relister.relistOnce());
  auto snap = f.state.current();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->configGeneration, 4u);
  EXPECT_EQ(snap->builtAtMs, kNow);
  EXPECT_EQ(snap->rules->custom().size(), 2u);
  EXPECT_EQ(snap->catalog.seriesCount(), 3u);
  std::vector<std::string> custom;
  for (const auto& m : snap->catalog.customMetrics())
    custom.push_back(m.resource.gr.str() + "/" + m.metric);
  EXPECT_EQ(custom, (std::vector<std::string>{"namespaces/http_requests_per_second",
                                              "pods/http_requests_count",
                                              "pods/http_requests_per_second"}));
  EXPECT_EQ(snap->catalog.externalMetrics(), std::vector<std::string>{"queue_depth"});
  ASSERT_NE(snap->catalog.findCustom({"", "pods"}, "http_requests_count"), nullptr);
  EXPECT_EQ(snap->catalog.findCustom({"", "pods"}, "http_requests_count")->rule->context,
            "rules[1]");
  auto reports = f.reported();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok);
  EXPECT_EQ(reports[0].series, 3u);
  EXPECT_EQ(reports[0].customMetrics, 3u);
  EXPECT_EQ(reports[0].externalMetrics, 1u);
  EXPECT_GE(reports[0].seconds, 0);
}

TEST(Relister, OneSeriesCallPerDistinctQueryOverTheMaxAgeWindow) {
  Fixture f;
  f.relister.setRules(compileRules(kRules), 1);
  f.clock.advance(12345);
  ASSERT_TRUE(f.relister.relistOnce());
  auto calls = f.backend.seriesCalls();
  ASSERT_EQ(calls.size(), 2u) << "two rules share the first seriesQuery";
  EXPECT_EQ(calls[0].match, kHttp);
  EXPECT_EQ(calls[1].match, kQueue);
  for (const auto& c : calls) {
    EXPECT_EQ(c.endMs, kNow + 12345);
    EXPECT_EQ(c.startMs, kNow + 12345 - 180000) << "--metrics-max-age=3m";
  }
  EXPECT_EQ(f.state.current()->builtAtMs, kNow + 12345);
}

TEST(Relister, AFailureKeepsThePreviousSnapshot) {
  Fixture f;
  f.relister.setRules(compileRules(kRules), 1);
  ASSERT_TRUE(f.relister.relistOnce());
  auto before = f.state.current();
  // The second query fails after the first succeeded: nothing half-built
  // is published.
  f.backend.failSeriesFor(kQueue, "Get \"http://prometheus/api/v1/series\": timeout");
  f.relister.setRules(compileRules(kRules), 2);
  EXPECT_FALSE(f.relister.relistOnce());
  EXPECT_EQ(f.state.current(), before);
  EXPECT_EQ(f.state.current()->configGeneration, 1u);
  auto reports = f.reported();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_FALSE(reports[1].ok);
  EXPECT_EQ(reports[1].series, 0u);
  EXPECT_NE(f.logs.str().find("metric discovery failed; the previous metrics keep serving"),
            std::string::npos)
      << f.logs.str();
  EXPECT_NE(f.logs.str().find("timeout"), std::string::npos) << f.logs.str();
  // Refused rather than unreachable: the same.
  f.backend.heal();
  f.backend.failSeries("bad_data: invalid match[]", false);
  EXPECT_FALSE(f.relister.relistOnce());
  EXPECT_EQ(f.state.current(), before);
  f.backend.heal();
  EXPECT_TRUE(f.relister.relistOnce());
  EXPECT_EQ(f.state.current()->configGeneration, 2u);
  EXPECT_TRUE(f.reported().back().ok);
}

TEST(Relister, AFailedFirstDiscoveryPublishesNothing) {
  Fixture f;
  f.backend.failSeries("connection refused");
  f.relister.setRules(compileRules(kRules), 1);
  EXPECT_FALSE(f.relister.relistOnce());
  EXPECT_FALSE(f.state.ready());
  ASSERT_EQ(f.reported().size(), 1u);
  EXPECT_FALSE(f.reported()[0].ok);
}

TEST(Relister, NewRulesShowUpWithTheirGeneration) {
  Fixture f;
  f.relister.setRules(compileRules(kRules), 1);
  ASSERT_TRUE(f.relister.relistOnce());
  EXPECT_EQ(f.state.current()->catalog.customMetrics().size(), 3u);
  f.relister.setRules(compileRules(R"(externalRules:
- seriesQuery: 'queue_depth'
  metricsQuery: max(<<.Series>>)
)"),
                      7);
  EXPECT_EQ(f.state.current()->configGeneration, 1u) << "published by the next relist only";
  ASSERT_TRUE(f.relister.relistOnce());
  auto snap = f.state.current();
  EXPECT_EQ(snap->configGeneration, 7u);
  EXPECT_TRUE(snap->catalog.customMetrics().empty());
  EXPECT_EQ(snap->catalog.externalMetrics(), std::vector<std::string>{"queue_depth"});
}

TEST(Relister, TheLoopDiscoversAtOnceWakesOnNewRulesAndStopsPromptly) {
  Fixture f;
  f.relister.setRules(compileRules(kRules), 1);
  auto started = std::chrono::steady_clock::now();
  f.relister.start();
  ASSERT_TRUE(f.eventually([&] { return f.state.ready(); })) << "the first relist runs at once";
  EXPECT_EQ(f.state.current()->configGeneration, 1u);
  // The interval is 10 minutes: only setRules can make the next one happen.
  f.relister.setRules(compileRules(kRules), 2);
  ASSERT_TRUE(
      f.eventually([&] { return f.state.current() && f.state.current()->configGeneration == 2; }));
  f.relister.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  size_t calls = f.backend.seriesCallCount();
  EXPECT_EQ(calls, 4u) << "two relists of two queries";
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(f.backend.seriesCallCount(), calls) << "nothing runs after stop()";
  f.relister.stop();  // again: harmless
}

TEST(Relister, StopWithoutStartAndTheDestructorReturn) {
  auto started = std::chrono::steady_clock::now();
  {
    Fixture f;
    f.relister.stop();
  }
  {
    Fixture f;
    f.relister.setRules(compileRules(kRules), 1);
    f.relister.start();
    ASSERT_TRUE(f.eventually([&] { return f.state.ready(); }));
  }  // ~Relister stops the loop
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}
