// What the asynchronous request path guarantees around authentication and
// routing: bounded LRU caches, identical reviews sent once, watches
// refused before authorization, 401 bodies that say only "Unauthorized",
// and deadlines that become 504s.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "apiservice/authentication.h"
#include "apiservice/authorization.h"
#include "apiservice/lru_cache.h"
#include "apiservice/router.h"
#include "apiservice/status.h"
#include "fake_clock.h"
#include "run_task.h"

using namespace apiservice;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// kube-apiserver's review endpoints answering after `delay`, without
// holding a thread; counts what was sent.
class SlowReviews final : public ReviewTransport {
 public:
  int calls = 0;
  common::Task<ReviewReply> post(const std::string& path, const std::string&,
                                 const common::RequestContext&) override {
    ++calls;
    asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
    co_await t.async_wait(asio::use_awaitable);
    if (path.find("tokenreviews") != std::string::npos)
      co_return ReviewReply{201, R"({"status":{"authenticated":true,"user":{"username":"bob"}}})"};
    co_return ReviewReply{201, R"({"status":{"allowed":true}})"};
  }
};

HttpRequest bearer(const std::string& token) {
  HttpRequest r;
  r.method = "GET";
  r.target = "/apis";
  r.headers.emplace("authorization", "Bearer " + token);
  return r;
}

}  // namespace

TEST(LruCache, EvictsTheLeastRecentlyUsedOneAtATime) {
  LruCache<int> cache(3);
  cache.put("a", 1, 1000);
  cache.put("b", 2, 1000);
  cache.put("c", 3, 1000);
  EXPECT_EQ(cache.get("a", 0), 1);  // a is now the most recent
  cache.put("d", 4, 1000);          // evicts b, not everything
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.get("b", 0));
  EXPECT_EQ(cache.get("a", 0), 1);
  EXPECT_EQ(cache.get("c", 0), 3);
  EXPECT_FALSE(cache.get("a", 1000)) << "expired";
  EXPECT_EQ(cache.size(), 2u) << "an expired entry is dropped when found";
}

TEST(LruCache, AFloodOfNewKeysKeepsTheBusyOne) {
  // The front proxy's verdict is read on every request; a flood of
  // unknown tokens must not push it out.
  LruCache<int> cache(100);
  cache.put("front-proxy", 1, 1 << 30);
  for (int i = 0; i < 10000; ++i) {
    cache.put("token-" + std::to_string(i), 0, 1 << 30);
    ASSERT_TRUE(cache.get("front-proxy", 0)) << "evicted after " << i << " new keys";
  }
  EXPECT_EQ(cache.size(), 100u);
}

TEST(Authentication, ATokenThatIsNotUtf8Is401WithoutAReview) {
  SlowReviews reviews;
  mocks::FakeClock clock;
  DelegatingAuthenticator authn(&reviews, clock, {10000, 100});
  try {
    mocks::run(authn.authenticate(bearer("abc\xff\xfe"), mocks::farDeadline()));
    FAIL() << "expected 401";
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 401);
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_EQ(reviews.calls, 0);
}

TEST(Authentication, IdenticalConcurrentTokenReviewsAreSentOnce) {
  SlowReviews reviews;
  mocks::FakeClock clock;
  DelegatingAuthenticator authn(&reviews, clock, {10000, 100});
  asio::io_context io(1);
  int ok = 0;
  HttpRequest req = bearer("same-token");
  for (int i = 0; i < 10; ++i) {
    asio::co_spawn(
        io,
        [&]() -> common::Task<void> {
          common::RequestContext ctx = common::RequestContext::withTimeout(5s);
          UserInfo u = co_await authn.authenticate(req, ctx);
          if (u.name == "bob") ++ok;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(reviews.calls, 1) << "ten identical requests in flight, one TokenReview";
  EXPECT_EQ(mocks::run(authn.authenticate(req, mocks::farDeadline())).name, "bob");
  EXPECT_EQ(reviews.calls, 1) << "then cached";
}

TEST(Authorization, IdenticalConcurrentAccessReviewsAreSentOnce) {
  SlowReviews reviews;
  mocks::FakeClock clock;
  DelegatingAuthorizer authz(reviews, clock, {});
  asio::io_context io(1);
  int allowed = 0;
  UserInfo user{"alice", "", {"devs"}, {}};
  RequestAttributes attrs = requestAttributes("GET", "/apis/custom.metrics.k8s.io/v1beta1");
  for (int i = 0; i < 10; ++i) {
    asio::co_spawn(
        io,
        [&]() -> common::Task<void> {
          common::RequestContext ctx = common::RequestContext::withTimeout(5s);
          Decision d = co_await authz.authorize(user, attrs, ctx);
          if (d.allowed) ++allowed;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(allowed, 10);
  EXPECT_EQ(reviews.calls, 1);
}

TEST(Authentication, AWaiterGivesUpAtItsOwnDeadline) {
  SlowReviews reviews;  // 50 ms per review
  mocks::FakeClock clock;
  DelegatingAuthenticator authn(&reviews, clock, {10000, 100});
  asio::io_context io(1);
  HttpRequest req = bearer("slow");
  bool leaderOk = false, waiterAborted = false;
  asio::co_spawn(
      io,
      [&]() -> common::Task<void> {
        common::RequestContext ctx = common::RequestContext::withTimeout(5s);
        leaderOk = (co_await authn.authenticate(req, ctx)).name == "bob";
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> common::Task<void> {
        common::RequestContext ctx = common::RequestContext::withTimeout(10ms);
        try {
          co_await authn.authenticate(req, ctx);
        } catch (const common::RequestAborted&) {
          waiterAborted = true;
        }
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(leaderOk);
  EXPECT_TRUE(waiterAborted);
  EXPECT_EQ(reviews.calls, 1);
}

namespace {

class Recorder : public Authenticator, public Authorizer {
 public:
  mutable int authorizations = 0;
  common::Task<UserInfo> authenticate(const HttpRequest& req,
                                      const common::RequestContext&) const override {
    if (!req.header("x-user"))
      throw StatusError::unauthorized("Unauthorized: the bearer token was rejected: secret reason");
    co_return UserInfo{"alice", "", {}, {}};
  }
  common::Task<Decision> authorize(const UserInfo&, const RequestAttributes&,
                                   const common::RequestContext&) const override {
    ++authorizations;
    co_return Decision{true, ""};
  }
};

class Stalls : public CustomMetricsProvider, public ExternalMetricsProvider {
 public:
  std::vector<CustomMetricDescriptor> listCustomMetrics() const override { return {}; }
  bool servesCustomMetric(const std::string&, const std::string&) const override { return true; }
  common::Task<std::vector<ObjectMetricValue>> getObjectMetric(
      const ObjectMetricRequest&, const common::RequestContext& ctx) const override {
    ctx.check("querying Prometheus");
    co_return std::vector<ObjectMetricValue>{};
  }
  std::vector<std::string> listExternalMetrics() const override { return {}; }
  bool servesExternalMetric(const std::string&) const override { return true; }
  common::Task<std::vector<ExternalMetricValue>> getExternalMetric(
      const ExternalMetricRequest&, const common::RequestContext&) const override {
    co_return std::vector<ExternalMetricValue>{};
  }
};

HttpRequest get(const std::string& target, bool withUser = true) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  if (withUser) r.headers.emplace("x-user", "1");
  return r;
}

}  // namespace

TEST(Router, AWatchIsMethodNotAllowedBeforeAuthorization) {
  Recorder access;
  Stalls p;
  const common::SystemClock clock;
  Router router({&p, &p, nullptr}, {}, "v0", {&access, &access, {"/healthz"}}, clock);
  for (const char* target :
       {"/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m?watch=true",
        "/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m?watch=1",
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/queue_depth?watch=true"}) {
    HttpResponse r = mocks::run(router.handle(get(target), mocks::farDeadline()));
    EXPECT_EQ(r.status, 405) << target;
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["reason"], "MethodNotAllowed") << target;
    EXPECT_NE(
        body["message"].get<std::string>().find("watch is not supported on resources of kind"),
        std::string::npos)
        << r.body;
  }
  EXPECT_EQ(access.authorizations, 0) << "never authorized as a watch";
  HttpResponse r = mocks::run(router.handle(
      get("/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m?watch=false"), mocks::farDeadline()));
  EXPECT_EQ(access.authorizations, 1) << "watch=false is a plain read";
  auto pods = nlohmann::json::parse(
      mocks::run(router.handle(
                     get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m?watch=true"),
                     mocks::farDeadline()))
          .body);
  EXPECT_NE(pods["message"].get<std::string>().find("\"pods.custom.metrics.k8s.io\""),
            std::string::npos)
      << pods.dump();
}

TEST(Router, UnauthorizedBodiesSayOnlyUnauthorized) {
  Recorder access;
  Stalls p;
  const common::SystemClock clock;
  Router router({&p, &p, nullptr}, {}, "v0", {&access, &access, {"/healthz"}}, clock);
  HttpResponse r = mocks::run(router.handle(get("/apis", false), mocks::farDeadline()));
  EXPECT_EQ(r.status, 401);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["message"], "Unauthorized");
  EXPECT_EQ(body["reason"], "Unauthorized");
  EXPECT_EQ(r.body.find("secret reason"), std::string::npos);
}

TEST(Router, ARequestPastItsDeadlineIs504) {
  Stalls p;
  const common::SystemClock clock;
  Router router({&p, &p, nullptr}, {}, "v0", {}, clock);
  common::RequestContext ctx = common::RequestContext::withTimeout(0ms);
  HttpResponse r =
      mocks::run(router.handle(get("/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m"), ctx));
  EXPECT_EQ(r.status, 504);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["reason"], "Timeout");
  EXPECT_NE(body["message"].get<std::string>().find("Timeout: request did not complete"),
            std::string::npos)
      << r.body;
}
