// The shared fakes do what their headers promise (the tests that use them
// rely on it), checked here on their own and through the production code
// that talks to the real thing.
#include <gtest/gtest.h>

#include "adapter/kube/kube_client.h"
#include "adapter/kube/kube_objects.h"
#include "fake_clock.h"
#include "fake_external_source.h"
#include "fake_feed_source.h"
#include "fake_kube_api.h"
#include "fake_metrics_forwarder.h"
#include "fake_object_lister.h"
#include "fake_prometheus.h"
#include "fake_review_transport.h"
#include "fake_upstream_server.h"
#include "run_task.h"

using mocks::sample;

TEST(FakeClock, MovesOnlyWhenTold) {
  mocks::FakeClock clock(1000);
  EXPECT_EQ(clock.nowMillis(), 1000);
  EXPECT_EQ(clock.monotonicMillis(), 1000);
  clock.advance(250);
  EXPECT_EQ(clock.nowMillis(), 1250);
  EXPECT_EQ(clock.monotonicMillis(), 1250);
  EXPECT_EQ(mocks::FakeClock().nowMillis(), 1700000000000);
}

TEST(FakePrometheus, QueriesGetExactThenFragmentThenDefaultAnswers) {
  mocks::FakePrometheus p;
  EXPECT_TRUE(mocks::run(p.query("anything", 5, mocks::farDeadline())).empty())
      << "unscripted: no samples";
  p.answerOtherQueries({sample({{"a", "default"}}, 0)});
  p.answerQueryContaining("cpu", {sample({{"a", "cpu"}}, 1)});
  p.answerQueryContaining("cpu_seconds", {sample({{"a", "cpu_seconds"}}, 2)});
  p.answerQuery("sum(cpu_seconds)", {sample({{"a", "exact"}}, 3)});
  EXPECT_EQ(mocks::run(p.query("sum(cpu_seconds)", 0, mocks::farDeadline())).at(0).value, 3);
  EXPECT_EQ(mocks::run(p.query("max(cpu_seconds)", 0, mocks::farDeadline())).at(0).value, 1)
      << "the first fragment registered";
  EXPECT_EQ(mocks::run(p.query("memory", 0, mocks::farDeadline())).at(0).value, 0);
  p.answerQueryContaining("cpu", {sample({{"a", "cpu"}}, 9), sample({}, 10)});
  EXPECT_EQ(mocks::run(p.query("max(cpu_seconds)", 0, mocks::farDeadline())).size(), 2u)
      << "re-scripted in place";
  auto calls = p.queries();
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[0].promql, "anything");
  EXPECT_EQ(calls[0].timeMs, 5);
  EXPECT_EQ(p.lastQuery(), "max(cpu_seconds)");
  p.forgetCalls();
  EXPECT_EQ(p.queryCount(), 0u);
  EXPECT_EQ(p.lastQuery(), "");
}

TEST(FakePrometheus, FailuresAreBackendErrorsUntilHealed) {
  mocks::FakePrometheus p;
  p.answerQueryContaining("ok", {sample({}, 1)});
  p.failQueriesContaining("slow", "timeout", true);
  try {
    mocks::run(p.query("slow_query", 0, mocks::farDeadline()));
    FAIL();
  } catch (const adapter::BackendError& e) {
    EXPECT_TRUE(e.unavailable());
    EXPECT_EQ(std::string(e.what()), "timeout");
  }
  EXPECT_EQ(mocks::run(p.query("ok", 0, mocks::farDeadline())).size(), 1u);
  p.failQueries("bad_data", false);
  try {
    mocks::run(p.query("ok", 0, mocks::farDeadline()));
    FAIL();
  } catch (const adapter::BackendError& e) {
    EXPECT_FALSE(e.unavailable());
  }
  EXPECT_EQ(p.queryCount(), 3u) << "failed queries are recorded too";
  p.heal();
  EXPECT_EQ(mocks::run(p.query("ok", 0, mocks::farDeadline())).size(), 1u);
  EXPECT_TRUE(mocks::run(p.query("slow_query", 0, mocks::farDeadline())).empty())
      << "the failing fragment is gone";
}

TEST(FakePrometheus, SeriesPerMatchWithTheirName) {
  mocks::FakePrometheus p;
  p.answerSeries("up", {{"up", {"job"}}, {"up", {"__name__", "instance"}}});
  std::vector<std::pair<std::string, std::vector<std::string>>> seen;
  auto visit = [&](std::string_view name, const std::vector<std::string>& labels) {
    seen.emplace_back(std::string(name), labels);
  };
  p.series("up", 10, 20, visit);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].second, (std::vector<std::string>{"__name__", "job"}));
  EXPECT_EQ(seen[1].second, (std::vector<std::string>{"__name__", "instance"}));
  p.series("down", 30, 40, visit);
  EXPECT_EQ(seen.size(), 2u) << "an unscripted match has no series";
  p.failSeriesFor("down", "refused", true);
  EXPECT_THROW(p.series("down", 0, 0, visit), adapter::BackendError);
  p.series("up", 0, 0, visit);
  p.failSeries("everything is down");
  EXPECT_THROW(p.series("up", 0, 0, visit), adapter::BackendError);
  p.heal();
  p.series("down", 0, 0, visit);
  auto calls = p.seriesCalls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[1].match, "down");
  EXPECT_EQ(calls[1].startMs, 30);
  EXPECT_EQ(calls[1].endMs, 40);
}

TEST(FakeKubeApi, CannedRepliesPerMethodAndPath) {
  mocks::FakeKubeApi api;
  EXPECT_EQ(api.source(), "fake-apiserver");
  api.replyGet("/api", 200, R"({"versions":["v1"]})");
  api.replyPost("/apis/authentication.k8s.io/v1/tokenreviews", 201, R"({"status":{}})");
  EXPECT_EQ(api.get("/api").body, R"({"versions":["v1"]})");
  EXPECT_EQ(api.get("/api?timeout=5s").status, 200) << "found without its query string";
  EXPECT_EQ(api.get("/apis").status, 404);
  EXPECT_EQ(api.post("/api", "{}").status, 404) << "a GET reply is not a POST reply";
  // Through the adapter's review transport.
  adapter::KubeReviewTransport reviews(api);
  auto r = mocks::run(reviews.post("/apis/authentication.k8s.io/v1/tokenreviews",
                                   R"({"kind":"TokenReview"})", mocks::farDeadline()));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"status":{}})");
  auto requests = api.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[4].method, "POST");
  EXPECT_EQ(requests[4].body, R"({"kind":"TokenReview"})");
  EXPECT_EQ(api.count("GET", "/api"), 1u);
  api.fail("GET", "/apis", "connection refused");
  try {
    api.get("/apis");
    FAIL();
  } catch (const adapter::KubeError& e) {
    EXPECT_EQ(e.httpStatus(), 0);
    EXPECT_EQ(std::string(e.what()), "connection refused");
  }
  api.fail("POST", "/x", "forbidden", 403);
  try {
    api.post("/x", "{}");
    FAIL();
  } catch (const adapter::KubeError& e) {
    EXPECT_EQ(e.httpStatus(), 403);
  }
}

TEST(FakeKubeApi, StreamsHandTheBodyOutInChunks) {
  mocks::FakeKubeApi api;
  api.replyStream("/api/v1/pods", 200, R"({"kind":"PodList","metadata":{"resourceVersion":"9"},
    "items":[{"metadata":{"name":"web-1","namespace":"prod","labels":{"app":"web"}},
              "status":{"phase":"Running"}}]})");
  api.setStreamChunk(3);
  adapter::ListPage page;
  size_t largestRead = 0;
  int status = api.stream("/api/v1/pods?limit=500", std::chrono::seconds(1), nullptr,
                          [&](int st, common::HttpClient::BodyReader& read) {
                            auto counting = [&](char* buf, size_t len) {
                              size_t n = read(buf, len);
                              largestRead = std::max(largestRead, n);
                              return n;
                            };
                            page = adapter::parseListPage(st, counting, false);
                          });
  EXPECT_EQ(status, 200);
  EXPECT_EQ(largestRead, 3u);
  EXPECT_EQ(page.resourceVersion, "9");
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].name, "web-1");
  EXPECT_EQ(api.count("STREAM", "/api/v1/pods?limit=500"), 1u);
  // Unscripted: a 404 Status object, as kube-apiserver answers.
  int missing =
      api.stream("/apis/x/v1/things", std::chrono::seconds(1), nullptr,
                 [&](int st, common::HttpClient::BodyReader& read) {
                   EXPECT_THROW(adapter::parseListPage(st, read, false), adapter::KubeError);
                 });
  EXPECT_EQ(missing, 404);
  common::CancelToken cancel;
  cancel.cancel();
  EXPECT_THROW(api.stream("/api/v1/pods", std::chrono::seconds(1), &cancel,
                          [](int, common::HttpClient::BodyReader&) { FAIL(); }),
               adapter::KubeError);
}

TEST(FakeObjectLister, SelectsByResourceNamespaceLabelsAndPhase) {
  mocks::FakeObjectLister lister;
  lister.add("pods", "prod", "web-2", {{"app", "web"}});
  lister.add("pods", "prod", "web-1", {{"app", "web"}});
  lister.add("pods", "prod", "job-1", {{"app", "web"}}, /*running=*/false);
  lister.add("pods", "dev", "web-1", {{"app", "web"}});
  lister.add("nodes", "", "n1", {{"zone", "a"}});
  rules::ResourceInfo pods{{"", "pods"}, "Pod", "pod", "v1", true, {}};
  rules::ResourceInfo nodes{{"", "nodes"}, "Node", "node", "v1", false, {}};
  adapter::ObjectQuery q{&pods, "prod", rules::parseLabelSelector("app=web"), "app=web", false};
  EXPECT_EQ(mocks::run(lister.names(q, mocks::farDeadline())),
            (std::vector<std::string>{"job-1", "web-1", "web-2"}));
  q.runningPodsOnly = true;
  EXPECT_EQ(mocks::run(lister.names(q, mocks::farDeadline())),
            (std::vector<std::string>{"web-1", "web-2"}));
  q.ns = "";
  auto all = mocks::run(lister.objects(q, mocks::farDeadline()));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].ns, "dev") << "sorted by namespace, then name";
  EXPECT_EQ(all[0].labels.at("app"), "web");
  q.selector = rules::parseLabelSelector("app=db");
  EXPECT_TRUE(mocks::run(lister.names(q, mocks::farDeadline())).empty());
  adapter::ObjectQuery nq{&nodes, "ignored", {}, "", false};
  EXPECT_EQ(mocks::run(lister.names(nq, mocks::farDeadline())), std::vector<std::string>{"n1"})
      << "cluster-scoped: no namespace";
  auto queries = lister.queries();
  ASSERT_EQ(queries.size(), 5u);
  EXPECT_EQ(queries[0].call, "names");
  EXPECT_EQ(queries[0].selectorText, "app=web");
  EXPECT_EQ(queries[2].call, "objects");
  EXPECT_TRUE(queries[2].runningPodsOnly);
  EXPECT_EQ(queries[4].resource, "nodes");
  lister.fail(apiservice::StatusError::unavailable("down"));
  EXPECT_THROW(mocks::run(lister.names(nq, mocks::farDeadline())), apiservice::StatusError);
  lister.heal();
  EXPECT_EQ(mocks::run(lister.names(nq, mocks::farDeadline())).size(), 1u);
}

TEST(FakeReviewTransport, AnswersCountsAndGoesDown) {
  mocks::FakeReviewTransport plain;
  auto r = mocks::run(plain.post("/p", "{}", mocks::farDeadline()));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "{}");
  mocks::FakeReviewTransport echo(
      [](const std::string& path, const std::string& body) { return path + " " + body; });
  echo.status = 500;
  r = mocks::run(echo.post("/a", "b", mocks::farDeadline()));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "/a b");
  echo.down = true;
  EXPECT_THROW(mocks::run(echo.post("/a", "c", mocks::farDeadline())), std::runtime_error);
  EXPECT_EQ(echo.calls, 2);
  ASSERT_EQ(echo.requests.size(), 2u);
  EXPECT_EQ(echo.requests[1].body, "c");
}

TEST(FakeFeedSource, NoDataUntilPublished) {
  mocks::FakeFeedSource feed;
  EXPECT_EQ(feed.current(), nullptr);
  EXPECT_FALSE(feed.status().connected);
  auto data = std::make_shared<adapter::FeedData>();
  data->version = 3;
  feed.publish(data);
  feed.setStatus({true, 1, 2, ""});
  EXPECT_EQ(feed.current()->version, 3u);
  EXPECT_TRUE(feed.status().connected);
  EXPECT_EQ(feed.status().updates, 2u);
}

TEST(FakeExternalSource, ClaimsAnswersAndRecords) {
  mocks::FakeExternalSource s("src");
  s.claim("a", {{"", {{"k", "v"}}, 1, 2}});
  s.answerUnclaimed("b", {});
  EXPECT_TRUE(s.servesExternalMetric("a"));
  EXPECT_FALSE(s.servesExternalMetric("b"));
  EXPECT_EQ(s.listExternalMetrics(), std::vector<std::string>{"a"});
  auto v = mocks::run(s.getExternalMetric({"ns", "a", ""}, mocks::farDeadline()));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].metric, "a") << "filled in from the request";
  EXPECT_TRUE(mocks::run(s.getExternalMetric({"ns", "b", ""}, mocks::farDeadline())).empty());
  try {
    mocks::run(s.getExternalMetric({"ns", "c", ""}, mocks::farDeadline()));
    FAIL();
  } catch (const apiservice::StatusError& e) {
    EXPECT_EQ(e.code(), 404);
    EXPECT_EQ(std::string(e.what()), "src does not serve \"c\"");
  }
  EXPECT_EQ(s.requests().size(), 3u);
}

TEST(FakeUpstreamServer, AnswersListsFailsAndRecords) {
  mocks::FakeUpstreamServer s("https://u", apiservice::MetricsApi::Custom);
  s.answer("/a", 200, "{}");
  s.list("v1beta2", {{"pods/m", true}});
  EXPECT_EQ(mocks::run(s.get("/a", mocks::farDeadline())).status, 200);
  EXPECT_EQ(mocks::run(s.get("/b", mocks::farDeadline())).status, 404);
  EXPECT_EQ(s.discover("v1beta2", nullptr).size(), 1u);
  EXPECT_TRUE(s.discover("v1beta1", nullptr).empty());
  s.fail("down");
  EXPECT_THROW(mocks::run(s.get("/a", mocks::farDeadline())), adapter::UpstreamUnavailable);
  EXPECT_THROW(s.discover("v1beta2", nullptr), adapter::UpstreamUnavailable);
  EXPECT_EQ(s.calls().size(), 6u);
  EXPECT_EQ(s.calls().front(), "GET /a");
}

TEST(FakeMetricsForwarder, ListsAndAnswersAsScripted) {
  mocks::FakeMetricsForwarder f;
  f.external = {"x"};
  f.custom["v1beta1"] = {{"pods", true, "m"}};
  f.outcome.asked = {"https://u"};
  apiservice::HttpRequest req;
  req.target = "/t";
  auto out = mocks::run(
      f.forward(apiservice::MetricsApi::External, "v1beta1", "x", req, mocks::farDeadline()));
  EXPECT_FALSE(out.answer);
  EXPECT_EQ(out.asked.size(), 1u);
  EXPECT_EQ(f.upstreamCustomMetrics("v1beta1").size(), 1u);
  EXPECT_TRUE(f.upstreamCustomMetrics("v1beta2").empty());
  EXPECT_EQ(f.forwarded(), std::vector<std::string>{"x /t"});
}
