// The external metrics chain: who answers a name, what is answered when
// nobody claims it, and the merged list.
#include "adapter/providers/external_chain.h"

#include <gtest/gtest.h>

#include "adapter/providers/external_rules_provider.h"
#include "fake_clock.h"
#include "fake_external_source.h"
#include "fake_prometheus.h"
#include "run_task.h"
#include "serving_fixture.h"

using namespace adapter;
using namespace providertest;
using apiservice::ExternalMetricRequest;
using apiservice::StatusError;

namespace {

std::vector<std::string> metricsAsked(const mocks::FakeExternalSource& s) {
  std::vector<std::string> out;
  for (const auto& r : s.requests()) out.push_back(r.metric);
  return out;
}

double firstValue(const ExternalMetricsChain& chain, const std::string& metric) {
  auto v = mocks::run(chain.getExternalMetric({"default", metric, ""}, mocks::farDeadline()));
  return v.empty() ? -1 : v[0].value;
}

using Names = std::vector<std::string>;

}  // namespace

TEST(ExternalMetricsChain, NeedsASource) {
  EXPECT_THROW(ExternalMetricsChain({}), std::invalid_argument);
}

TEST(ExternalMetricsChain, TheFirstSourceThatServesANameAnswersIt) {
  mocks::FakeExternalSource a("a"), b("b");
  a.claim("shared", {{"", {}, 1, kNow}});
  b.claim("shared", {{"", {}, 2, kNow}});
  b.claim("only_b", {{"", {{"from", "b"}}, 3, kNow}});
  ExternalMetricsChain chain({&a, &b});
  EXPECT_EQ(firstValue(chain, "shared"), 1);
  EXPECT_EQ(firstValue(chain, "only_b"), 3);
  EXPECT_EQ(metricsAsked(a), Names{"shared"}) << "a does not claim only_b: never asked";
  EXPECT_EQ(metricsAsked(b), Names{"only_b"}) << "shared went to a alone";
  // The request reaches the source whole.
  b.claim("m", {});
  mocks::run(chain.getExternalMetric({"team-a", "m", "queue=x"}, mocks::farDeadline()));
  auto last = b.requests().back();
  EXPECT_EQ(last.ns, "team-a");
  EXPECT_EQ(last.metric, "m");
  EXPECT_EQ(last.labelSelector, "queue=x");
}

TEST(ExternalMetricsChain, AClaimedNamesErrorIsTheAnswer) {
  mocks::FakeExternalSource a("a"), b("b");
  a.claimFailing("m", StatusError::unavailable("a is stale"));
  b.claim("m", {{"", {}, 2, kNow}});
  ExternalMetricsChain chain({&a, &b});
  std::string message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(chain.getExternalMetric({"default", "m", ""}, mocks::farDeadline()));
                },
                &message),
            503);
  EXPECT_EQ(message, "a is stale");
  EXPECT_TRUE(b.requests().empty()) << "no fallback behind a source that claims the name";
}

TEST(ExternalMetricsChain, AnUnclaimedNameIsAskedOfEachSourceInTurn) {
  mocks::FakeExternalSource a("a"), b("b"), c("c");
  b.answerUnclaimed("m", {{"", {}, 7, kNow}});
  c.answerUnclaimed("m", {{"", {}, 8, kNow}});
  ExternalMetricsChain chain({&a, &b, &c});
  EXPECT_EQ(firstValue(chain, "m"), 7) << "the first answer that is not a 404";
  EXPECT_EQ(metricsAsked(a), Names{"m"});
  EXPECT_EQ(metricsAsked(b), Names{"m"});
  EXPECT_TRUE(c.requests().empty());
}

TEST(ExternalMetricsChain, AStartingSourcesUnavailableWinsOverA404) {
  // The rules provider before its first discovery claims nothing and says
  // 503; the chain passes that on rather than a later source's 404.
  ServingState state;
  mocks::FakePrometheus backend;
  mocks::FakeClock clock;
  std::ostringstream logs;
  common::Logger log(logs, 0, common::Logger::Format::Text);
  ExternalRulesProvider rules(state, backend, clock, log);
  mocks::FakeExternalSource later("later");
  ExternalMetricsChain chain({&rules, &later});
  std::string message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(chain.getExternalMetric({"default", "queue_depth", ""},
                                                     mocks::farDeadline()));
                },
                &message),
            503);
  EXPECT_EQ(message, "metric discovery has not completed yet; retry shortly");
  EXPECT_TRUE(later.requests().empty());
  // Any status but 404 stops the search.
  mocks::FakeExternalSource refusing("refusing");
  refusing.failUnknown(StatusError::badRequest("labelSelector: bad"));
  ExternalMetricsChain chain2({&refusing, &later});
  EXPECT_EQ(codeOf([&] {
              mocks::run(chain2.getExternalMetric({"default", "x", ""}, mocks::farDeadline()));
            }),
            400);
  EXPECT_TRUE(later.requests().empty());
}

TEST(ExternalMetricsChain, NobodyServingANameIsTheLastSources404) {
  mocks::FakeExternalSource a("a"), b("b");
  ExternalMetricsChain chain({&a, &b});
  std::string message;
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(chain.getExternalMetric({"default", "m", ""}, mocks::farDeadline()));
                },
                &message),
            404);
  EXPECT_EQ(message, "b does not serve \"m\"");
  EXPECT_EQ(metricsAsked(a), Names{"m"});
  EXPECT_EQ(metricsAsked(b), Names{"m"});
  // The last source is asked even when its answer is not a 404.
  b.failUnknown(StatusError::unavailable("b is starting"));
  EXPECT_EQ(codeOf(
                [&] {
                  mocks::run(chain.getExternalMetric({"default", "m", ""}, mocks::farDeadline()));
                },
                &message),
            503);
  EXPECT_EQ(message, "b is starting");
}

TEST(ExternalMetricsChain, ListsEveryClaimedNameSortedOnce) {
  mocks::FakeExternalSource a("a"), b("b");
  a.claim("zeta", {});
  a.claim("alpha", {});
  b.claim("alpha", {});
  b.claim("mid", {});
  b.answerUnclaimed("hidden", {});
  ExternalMetricsChain chain({&a, &b});
  EXPECT_EQ(chain.listExternalMetrics(), (Names{"alpha", "mid", "zeta"}));
}
