// A backend that fails, stalls or lies must never turn into a metric value.
#include <gtest/gtest.h>
#include <atomic>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "test_support.h"
#include "two_rules.h"

using nlohmann::json;
using namespace testsupport;
using namespace testsupport::two_rules;
using namespace std::chrono_literals;

namespace {

FakeResponse ok(const std::string& body) { return {200, body, 0ms}; }

std::string vectorOf(const std::string& labels, const std::string& value) {
  return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":)" + labels +
         R"(,"value":[1700000000,")" + value + R"("]}]}})";
}

// Series discovery always works; queries answer with `query`.
FakeBackend::Handler backend(std::function<FakeResponse(const FakeRequest&)> query) {
  return [query](const FakeRequest& r) {
    if (r.target.find("/api/v1/series") != std::string::npos) return ok(kSeries);
    return query(r);
  };
}

class BackendFailures : public ::testing::Test {
 protected:
  void SetUp() override { writeFile(dir_.file("config.yaml"), kConfig); }
  std::unique_ptr<AdapterProcess> start(FakeBackend& fake, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--standalone", "--config=" + dir_.file("config.yaml")};
    // Defaults unless the test sets the flag itself (repeating a flag is an error).
    for (std::string flag :
         {"--prometheus-url=" + fake.url(), std::string("--metrics-relist-interval=1s")}) {
      std::string name = flag.substr(0, flag.find('=') + 1);
      bool overridden = false;
      for (const auto& e : extra) overridden = overridden || e.rfind(name, 0) == 0;
      if (!overridden) args.push_back(flag);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    auto a = std::make_unique<AdapterProcess>(args, dir_);
    return a;
  }
  static json status(const HttpsResult& r) { return json::parse(r.body); }
  TempDir dir_;
};

TEST_F(BackendFailures, QueryErrorsMapToStatusCodes) {
  FakeBackend fake(
      backend([](const FakeRequest&) { return ok(vectorOf(R"({"pod":"p1"})", "7")); }));
  auto a = start(fake);
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  EXPECT_EQ(httpsGet(a->port(), kPod).status, 200);

  fake.setHandler(backend([](const FakeRequest&) {
    return FakeResponse{
        400, R"({"status":"error","errorType":"bad_data","error":"1:5: parse error"})", 0ms};
  }));
  auto r = httpsGet(a->port(), kPod);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(status(r)["message"].get<std::string>().find("bad_data: 1:5: parse error"),
            std::string::npos);

  fake.setHandler(backend([](const FakeRequest&) { return FakeResponse{503, "overloaded", 0ms}; }));
  r = httpsGet(a->port(), kExt);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(status(r)["reason"], "ServiceUnavailable");
  EXPECT_NE(r.body.find("HTTP 503"), std::string::npos);

  fake.setHandler(
      backend([](const FakeRequest&) { return ok("{\"status\":\"success\",\"data\":{"); }));
  r = httpsGet(a->port(), kPod);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(r.body.find("malformed"), std::string::npos);

  fake.setHandler(backend([](const FakeRequest&) {
    return ok(R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  }));
  r = httpsGet(a->port(), kPod);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(r.body.find("instant vector"), std::string::npos);
}

TEST_F(BackendFailures, SlowBackendTimesOut) {
  FakeBackend fake(
      backend([](const FakeRequest&) { return ok(vectorOf(R"({"pod":"p1"})", "7")); }));
  auto a = start(fake, {"--prometheus-timeout=500ms"});
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  fake.setHandler(backend([](const FakeRequest&) {
    return FakeResponse{200, vectorOf(R"({"pod":"p1"})", "7"), 3s};
  }));
  auto start = std::chrono::steady_clock::now();
  auto r = httpsGet(a->port(), kPod);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("timed out"), std::string::npos) << r.body;
  EXPECT_LT(took, 2500ms);
}

TEST_F(BackendFailures, BackendDownIs503) {
  FakeBackend fake(
      backend([](const FakeRequest&) { return ok(vectorOf(R"({"pod":"p1"})", "7")); }));
  auto a = start(fake);
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  fake.stop();
  auto r = httpsGet(a->port(), kExt);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("Prometheus query failed"), std::string::npos) << r.body;
  // Discovery keeps failing too, and the previous catalog keeps serving.
  std::this_thread::sleep_for(2500ms);
  EXPECT_NE(a->process().log().find("metric discovery failed; the previous metrics keep serving"),
            std::string::npos);
  EXPECT_EQ(httpsGet(a->port(), "/readyz").status, 200);
  // The fake answers every seriesQuery with both series: two external metrics.
  json list = json::parse(httpsGet(a->port(), "/apis/external.metrics.k8s.io/v1beta1").body);
  EXPECT_EQ(list["resources"].size(), 2u);
  EXPECT_NE(httpsGet(a->port(), "/metrics").body.find("metrics_adapter_relist_failures_total "),
            std::string::npos);
}

TEST_F(BackendFailures, NotReadyUntilFirstDiscovery) {
  std::atomic<bool> seriesUp{false};
  FakeBackend fake([&](const FakeRequest& r) {
    if (r.target.find("/api/v1/series") != std::string::npos) {
      return seriesUp ? ok(kSeries) : FakeResponse{500, "starting", 0ms};
    }
    return ok(vectorOf(R"({"pod":"p1"})", "7"));
  });
  auto a = start(fake);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(httpsGet(a->port(), "/readyz").status, 503);
  EXPECT_EQ(httpsGet(a->port(), "/healthz").status, 200);
  auto r = httpsGet(a->port(), kPod);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("discovery has not completed"), std::string::npos);
  seriesUp = true;
  EXPECT_TRUE(a->waitReady(10s));
  EXPECT_EQ(httpsGet(a->port(), kPod).status, 200);
}

TEST_F(BackendFailures, LongQueriesGoByPostAndConnectionsAreReused) {
  FakeBackend fake(
      backend([](const FakeRequest&) { return ok(vectorOf(R"({"pod":"p1"})", "7")); }));
  auto a = start(fake, {"--metrics-relist-interval=1h"});
  ASSERT_TRUE(a->waitReady(10s));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(httpsGet(a->port(), kPod).status, 200);
  std::string values;
  for (int i = 0; i < 1500; ++i)
    values += (i ? "," : "") + std::string("value") + std::to_string(i);
  auto r = httpsGet(a->port(), kPod + "?metricLabelSelector=shard+in+(" + values + ")");
  EXPECT_EQ(r.status, 200) << r.body;
  auto reqs = fake.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().method, "POST");
  EXPECT_EQ(reqs.back().headers["content-type"], "application/x-www-form-urlencoded");
  EXPECT_NE(reqs.back().body.find("query=sum%28pod_load%7Bshard%3D~"), std::string::npos);
  EXPECT_EQ(reqs[reqs.size() - 2].method, "GET");
  // 1 discovery + 21 queries over keep-alive: a handful of connections at most.
  EXPECT_LE(fake.connections(), 3u);
}

TEST_F(BackendFailures, AuthHeadersAndPathPrefix) {
  FakeBackend fake([](const FakeRequest& r) {
    if (r.target.rfind("/prom/api/v1/", 0) != 0) return FakeResponse{404, "no prefix", 0ms};
    if (r.target.find("/api/v1/series") != std::string::npos) return ok(kSeries);
    return ok(vectorOf(R"({"queue":"a"})", "3"));
  });
  writeFile(dir_.file("token"), "tok-one\n");
  auto a = start(fake, {"--prometheus-url=" + fake.url() + "/prom/",
                        "--prometheus-header=X-Scope-OrgID=tenant-a",
                        "--prometheus-token-file=" + dir_.file("token"), "--v=10"});
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  EXPECT_EQ(httpsGet(a->port(), kExt).status, 200);
  auto last = fake.requests().back();
  EXPECT_EQ(last.headers["x-scope-orgid"], "tenant-a");
  EXPECT_EQ(last.headers["authorization"], "Bearer tok-one");
  writeFile(dir_.file("token"), "tok-two\n");
  EXPECT_EQ(httpsGet(a->port(), kExt).status, 200);
  EXPECT_EQ(fake.requests().back().headers["authorization"], "Bearer tok-two");
  EXPECT_EQ(a->process().log().find("tok-"), std::string::npos) << "tokens must never be logged";
}

TEST_F(BackendFailures, BasicAuth) {
  FakeBackend fake(
      backend([](const FakeRequest&) { return ok(vectorOf(R"({"queue":"a"})", "3")); }));
  writeFile(dir_.file("pw"), "s3cret\n");
  auto a = start(fake, {"--prometheus-basic-auth-username=alice",
                        "--prometheus-basic-auth-password-file=" + dir_.file("pw")});
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  EXPECT_EQ(httpsGet(a->port(), kExt).status, 200);
  EXPECT_EQ(fake.requests().back().headers["authorization"], "Basic YWxpY2U6czNjcmV0");
}

}  // namespace

// --- the request path never waits on a serving thread ----------------------

namespace {

// Queries for q_depth answer after `slow`; pod_load answers at once.
FakeBackend::Handler slowExternal(std::chrono::milliseconds slow) {
  return backend([slow](const FakeRequest& r) {
    if (r.target.find("q_depth") != std::string::npos ||
        r.body.find("q_depth") != std::string::npos)
      return FakeResponse{200, vectorOf(R"({"queue":"a"})", "5"), slow};
    return ok(vectorOf(R"({"pod":"p1"})", "7"));
  });
}

}  // namespace

TEST_F(BackendFailures, HealthAndFastQueriesDoNotWaitForASlowBackend) {
  FakeBackend fake(slowExternal(3s));
  // One serving thread: every request shares it, so any blocking shows.
  auto a = start(fake, {"--server-threads=1"});
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  Outstanding slow(a->port(), kExt, 16);
  std::this_thread::sleep_for(300ms);  // all 16 are waiting on the backend now
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto h = httpsGet(a->port(), "/healthz");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.body, "ok");
    auto fast = httpsGet(a->port(), kPod);
    EXPECT_EQ(fast.status, 200) << fast.body;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "waited behind the slow queries";
  }
  slow.join();
  for (const auto& r : slow.results) EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(queriesFor(fake, "q_depth"), 16u);
}

TEST_F(BackendFailures, MaxRequestsInflightIs429ButProbesStillAnswer) {
  FakeBackend fake(slowExternal(2s));
  auto a = start(fake, {"--max-requests-inflight=2"});
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  Outstanding slow(a->port(), kExt, 2);
  std::this_thread::sleep_for(300ms);
  auto r = httpsGet(a->port(), kPod);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(status(r)["reason"], "TooManyRequests") << r.body;
  EXPECT_NE(r.body.find("--max-requests-inflight"), std::string::npos) << r.body;
  EXPECT_EQ(httpsGet(a->port(), "/healthz").status, 200);
  EXPECT_EQ(httpsGet(a->port(), "/readyz").status, 200);
  slow.join();
  EXPECT_EQ(httpsGet(a->port(), kPod).status, 200) << "the slots are free again";
}

TEST_F(BackendFailures, QueriesBeyondPrometheusMaxInflightWaitThen503) {
  FakeBackend fake(slowExternal(10s));
  auto a = start(fake, {"--prometheus-max-inflight=1", "--request-timeout=3s"});
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  // The holder has the only permit until its deadline (t=3 s). Behind it,
  // one with ?timeout=1s, as kube-apiserver takes it, gives up in the
  // queue (t=1.5 s): a 503 naming the flag; one with the server's timeout
  // gets the permit at t=3 s and times out at the backend (t=3.5 s).
  Outstanding holder(a->port(), kExt, 1);
  std::this_thread::sleep_for(500ms);
  Outstanding queued(a->port(), kExt, 1);
  Outstanding impatient(a->port(), kExt + "?timeout=1s", 1);
  impatient.join();
  EXPECT_EQ(impatient.results[0].status, 503) << impatient.results[0].body;
  EXPECT_NE(impatient.results[0].body.find("--prometheus-max-inflight"), std::string::npos)
      << impatient.results[0].body;
  holder.join();
  queued.join();
  for (const auto& r : {holder.results[0], queued.results[0]}) {
    EXPECT_EQ(r.status, 504) << r.body;
    EXPECT_EQ(status(r)["reason"], "Timeout") << r.body;
  }
  EXPECT_EQ(queriesFor(fake, "q_depth"), 2u) << "the one that gave up in the queue never went";
  auto bad = httpsGet(a->port(), kExt + "?timeout=soon");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("invalid timeout specified in the request URL"), std::string::npos);
}

TEST_F(BackendFailures, AnswersOverTheSizeLimitAre500NamingIt) {
  FakeBackend fake(backend([](const FakeRequest&) {
    std::string labels = R"({"pod":"p1","pad":")" + std::string(4096, 'x') + R"("})";
    return ok(vectorOf(labels, "7"));
  }));
  auto a = start(fake, {"--prometheus-max-response-bytes=1Ki"});
  ASSERT_TRUE(a->waitReady(10s)) << a->process().log();
  auto r = httpsGet(a->port(), kPod);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(r.body.find("larger than 1024 bytes"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("--prometheus-max-response-bytes"), std::string::npos) << r.body;
}
