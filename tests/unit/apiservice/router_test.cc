#include "apiservice/router.h"
#include "run_task.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apiservice/api_json.h"
#include "apiservice/status.h"
#include "fake_metrics_forwarder.h"

using namespace apiservice;

namespace {

// Records what the router asked for; answers with one fixed value.
class RecordingProvider : public CustomMetricsProvider, public ExternalMetricsProvider {
 public:
  mutable ObjectMetricRequest lastObject;
  mutable ExternalMetricRequest lastExternal;
  std::vector<CustomMetricDescriptor> listCustomMetrics() const override {
    return {{"pods", true, "m"}};
  }
  bool servesCustomMetric(const std::string& r, const std::string& m) const override {
    return r == "pods" && m != "unknown";
  }
  common::Task<std::vector<ObjectMetricValue>> getObjectMetric(
      const ObjectMetricRequest& r, const common::RequestContext&) const override {
    lastObject = r;
    if (r.metric == "boom") throw std::runtime_error("kaput");
    co_return std::vector<ObjectMetricValue>{
        {{"Pod", r.ns, "p", "/v1"}, r.metric, 0.5, 1700000000123}};
  }
  std::vector<std::string> listExternalMetrics() const override { return {"q"}; }
  bool servesExternalMetric(const std::string& m) const override { return m != "unknown"; }
  common::Task<std::vector<ExternalMetricValue>> getExternalMetric(
      const ExternalMetricRequest& r, const common::RequestContext&) const override {
    lastExternal = r;
    co_return std::vector<ExternalMetricValue>{};
  }
};

const common::SystemClock kClock;

HttpResponse get(const Router& router, const std::string& target) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  return mocks::run(router.handle(r, mocks::farDeadline()));
}

}  // namespace

TEST(Router, ParsesCustomMetricPaths) {
  RecordingProvider p;
  Router router({&p, &p, nullptr}, {}, "v0.1.0", {}, kClock);
  auto r = get(router,
               "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/%2A/"
               "m?labelSelector=app%3Dweb%2Ctier+in+%28a%29&metricLabelSelector=x%3Dy");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(p.lastObject.ns, "ns");
  EXPECT_EQ(p.lastObject.resource, "pods");
  EXPECT_EQ(p.lastObject.name, "*");
  EXPECT_EQ(p.lastObject.labelSelector, "app=web,tier in (a)");
  EXPECT_EQ(p.lastObject.metricLabelSelector, "x=y");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["items"][0]["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["items"][0]["value"], "500m");

  get(router, "/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m");
  EXPECT_EQ(p.lastObject.ns, "");
  EXPECT_EQ(p.lastObject.resource, "nodes");
  get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/metrics/m");
  EXPECT_EQ(p.lastObject.resource, "namespaces");
  EXPECT_EQ(p.lastObject.name, "ns");
  get(router, "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/q?labelSelector=a%3Db");
  EXPECT_EQ(p.lastExternal.metric, "q");
  EXPECT_EQ(p.lastExternal.labelSelector, "a=b");
}

TEST(Router, ErrorsBecomeStatus) {
  RecordingProvider p;
  Router router({&p, &p, nullptr}, {}, "v0.1.0", {}, kClock);
  auto r = get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/p/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("kaput"), std::string::npos);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/n%zz/pods/p/m").status,
            400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/p/m%").status, 400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/a%2Fb/m").status,
            400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/../m").status, 400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v2/x").status, 404);
  HttpRequest del;
  del.method = "DELETE";
  del.target = "/apis";
  EXPECT_EQ(mocks::run(router.handle(del, mocks::farDeadline())).status, 405);
}

TEST(Router, ReadinessAndObservation) {
  RecordingProvider p;
  bool ready = false;
  std::vector<std::pair<std::string, int>> seen;
  RouterHooks hooks{
      [&] { return ready; }, [] { return std::string("m 1\n"); },
      [&](const std::string& route, int code, double) { seen.emplace_back(route, code); }};
  Router router({&p, &p, nullptr}, hooks, "v0.1.0", {}, kClock);
  EXPECT_EQ(get(router, "/readyz").status, 503);
  ready = true;
  EXPECT_EQ(get(router, "/readyz").status, 200);
  EXPECT_EQ(get(router, "/metrics").body, "m 1\n");
  get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/p/m");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), (std::pair<std::string, int>{"custom_metric", 200}));
}

TEST(Router, QueryDecoding) {
  auto q = decodeQuery("a=1&b=x+y%2Bz&a=2&empty&c=");
  EXPECT_EQ(q["a"], "1");
  EXPECT_EQ(q["b"], "x y+z");
  EXPECT_EQ(q["empty"], "");
  EXPECT_EQ(q["c"], "");
  EXPECT_THROW(decodeQuery("a=%G1"), StatusError);
}

namespace {

class FixedAuthenticator : public Authenticator {
 public:
  common::Task<UserInfo> authenticate(const HttpRequest& req,
                                      const common::RequestContext&) const override {
    const std::string* u = req.header("x-test-user");
    if (!u) throw StatusError::unauthorized("no x-test-user header");
    co_return UserInfo{*u, "", {}, {}};
  }
};

class OnlyAlice : public Authorizer {
 public:
  mutable std::vector<RequestAttributes> seen;
  common::Task<Decision> authorize(const UserInfo& user, const RequestAttributes& a,
                                   const common::RequestContext&) const override {
    seen.push_back(a);
    co_return Decision{user.name == "alice", user.name == "alice" ? "" : "not alice"};
  }
};

class TwoPods : public ResourceMetricsProvider {
 public:
  bool enabled = true;
  bool servesResourceMetrics() const override { return enabled; }
  common::Task<std::vector<NodeMetricsItem>> nodeMetrics(
      const std::string& name, const std::string&, const common::RequestContext&) const override {
    if (!name.empty() && name != "n1") co_return std::vector<NodeMetricsItem>{};
    co_return std::vector<NodeMetricsItem>{
        {"n1", {{"zone", "a"}}, 1700000000000, 60, 0.25, 1073741824}};
  }
  common::Task<std::vector<PodMetricsItem>> podMetrics(
      const std::string& ns, const std::string& name, const std::string& selector,
      const common::RequestContext&) const override {
    lastSelector = selector;
    std::vector<PodMetricsItem> out;
    for (const char* p : {"web-1", "web-2"}) {
      if (!name.empty() && name != p) continue;
      out.push_back({ns.empty() ? "default" : ns,
                     p,
                     {{"app", "web"}},
                     1700000000000,
                     90,
                     {{"app", 0.0015, 52428800}, {"sidecar", std::nullopt, 1500}}});
    }
    co_return out;
  }
  mutable std::string lastSelector;
};

HttpRequest as(const std::string& user, const std::string& target) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  if (!user.empty()) r.headers.emplace("x-test-user", user);
  return r;
}

}  // namespace

TEST(Router, AuthenticatesThenAuthorizesEveryRequest) {
  RecordingProvider p;
  FixedAuthenticator authn;
  OnlyAlice authz;
  Router router({&p, &p, nullptr}, {}, "v0.1.0", {&authn, &authz, {"/healthz", "/livez/*"}},
                kClock);
  const std::string path = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/%2A/m";
  auto anon = mocks::run(router.handle(as("", path), mocks::farDeadline()));
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(nlohmann::json::parse(anon.body)["reason"], "Unauthorized");
  auto bob = mocks::run(router.handle(as("bob", path), mocks::farDeadline()));
  EXPECT_EQ(bob.status, 403);
  auto j = nlohmann::json::parse(bob.body);
  EXPECT_EQ(j["reason"], "Forbidden");
  EXPECT_NE(j["message"].get<std::string>().find("User \"bob\" cannot get resource \"pods/m\""),
            std::string::npos)
      << j["message"];
  EXPECT_EQ(mocks::run(router.handle(as("alice", path), mocks::farDeadline())).status, 200);
  ASSERT_FALSE(authz.seen.empty());
  EXPECT_EQ(authz.seen.back().name, "*");
  EXPECT_EQ(authz.seen.back().subresource, "m");
  // Always-allowed paths need no credentials; others (even /readyz here) do.
  EXPECT_EQ(mocks::run(router.handle(as("", "/healthz"), mocks::farDeadline())).status, 200);
  EXPECT_EQ(mocks::run(router.handle(as("", "/livez/ping"), mocks::farDeadline())).status, 404);
  EXPECT_EQ(mocks::run(router.handle(as("", "/readyz"), mocks::farDeadline())).status, 401);
  EXPECT_EQ(mocks::run(router.handle(as("bob", "/metrics"), mocks::farDeadline())).status, 403);
}

TEST(Router, ServesResourceMetricsLikeMetricsServer) {
  RecordingProvider p;
  TwoPods pods;
  Router router({&p, &p, &pods}, {}, "v0.1.0", {}, kClock);
  auto groups = nlohmann::json::parse(get(router, "/apis").body);
  ASSERT_EQ(groups["groups"].size(), 3u);
  EXPECT_EQ(groups["groups"][2]["name"], "metrics.k8s.io");
  auto resources = nlohmann::json::parse(get(router, "/apis/metrics.k8s.io/v1beta1").body);
  EXPECT_EQ(resources["resources"][0]["kind"], "NodeMetrics");
  EXPECT_EQ(resources["resources"][1]["verbs"], nlohmann::json::array({"get", "list"}));

  auto list =
      get(router, "/apis/metrics.k8s.io/v1beta1/namespaces/prod/pods?labelSelector=app%3Dweb");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(pods.lastSelector, "app=web");
  auto j = nlohmann::json::parse(list.body);
  EXPECT_EQ(j["kind"], "PodMetricsList");
  EXPECT_EQ(j["apiVersion"], "metrics.k8s.io/v1beta1");
  const auto& item = j["items"][0];
  EXPECT_EQ(item["metadata"]["name"], "web-1");
  EXPECT_EQ(item["metadata"]["namespace"], "prod");
  EXPECT_EQ(item["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(item["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(item["window"], "1m30s");
  EXPECT_EQ(item["containers"][0]["usage"], (nlohmann::json{{"cpu", "2m"}, {"memory", "50Mi"}}));
  // A container without a CPU reading has none, not "0".
  EXPECT_EQ(item["containers"][1]["usage"], (nlohmann::json{{"memory", "1500"}}));

  auto one = nlohmann::json::parse(
      get(router, "/apis/metrics.k8s.io/v1beta1/namespaces/prod/pods/web-2").body);
  EXPECT_EQ(one["kind"], "PodMetrics");
  EXPECT_EQ(one["metadata"]["name"], "web-2");
  auto missing = get(router, "/apis/metrics.k8s.io/v1beta1/namespaces/prod/pods/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("podmetrics.metrics.k8s.io \\\"prod/nope\\\" not found"),
            std::string::npos)
      << missing.body;

  auto node = nlohmann::json::parse(get(router, "/apis/metrics.k8s.io/v1beta1/nodes/n1").body);
  EXPECT_EQ(node["kind"], "NodeMetrics");
  EXPECT_EQ(node["usage"], (nlohmann::json{{"cpu", "250m"}, {"memory", "1Gi"}}));
  EXPECT_EQ(node["window"], "1m0s");
  EXPECT_EQ(get(router, "/apis/metrics.k8s.io/v1beta1/nodes/n2").status, 404);
  EXPECT_EQ(nlohmann::json::parse(get(router, "/apis/metrics.k8s.io/v1beta1/nodes").body)["kind"],
            "NodeMetricsList");
  EXPECT_EQ(get(router, "/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=x%3Dy").status, 400);

  pods.enabled = false;  // no resourceRules: the group is not served or listed
  EXPECT_EQ(get(router, "/apis/metrics.k8s.io/v1beta1/nodes").status, 404);
  EXPECT_EQ(nlohmann::json::parse(get(router, "/apis").body)["groups"].size(), 2u);
}

TEST(Router, GoDurations) {
  EXPECT_EQ(goDurationString(0), "0s");
  EXPECT_EQ(goDurationString(30), "30s");
  EXPECT_EQ(goDurationString(60), "1m0s");
  EXPECT_EQ(goDurationString(3600), "1h0m0s");
  EXPECT_EQ(goDurationString(5430), "1h30m30s");
}

// --- forwarding what we do not serve -------------------------------------

namespace {
HttpResponse upstreamAnswer(int status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.body = body;
  return r;
}
}  // namespace

TEST(Router, DiscoveryListsTheUpstreamsNamesOnceOursFirst) {
  RecordingProvider p;
  mocks::FakeMetricsForwarder fwd;
  fwd.external = {"q", "s0-kafka-orders"};
  fwd.custom["v1beta2"] = {{"pods", true, "m"}, {"nodes", false, "temp"}};
  Router router({&p, &p, nullptr, &fwd}, {}, "v0.1.0", {}, kClock);
  auto ext = nlohmann::json::parse(get(router, "/apis/external.metrics.k8s.io/v1beta1").body);
  ASSERT_EQ(ext["resources"].size(), 2u) << ext.dump();
  EXPECT_EQ(ext["resources"][0]["name"], "q");
  EXPECT_EQ(ext["resources"][1]["name"], "s0-kafka-orders");
  auto cus = nlohmann::json::parse(get(router, "/apis/custom.metrics.k8s.io/v1beta2").body);
  ASSERT_EQ(cus["resources"].size(), 2u) << cus.dump();
  EXPECT_EQ(cus["resources"][1]["name"], "nodes/temp");
  EXPECT_EQ(cus["resources"][1]["namespaced"], false);
  auto v1 = nlohmann::json::parse(get(router, "/apis/custom.metrics.k8s.io/v1beta1").body);
  EXPECT_EQ(v1["resources"].size(), 1u) << "each version lists what the upstreams list for it";
}

TEST(Router, OnlyNamesWeDoNotServeAreForwardedAndTheirAnswerIsReturnedAsIs) {
  RecordingProvider p;
  mocks::FakeMetricsForwarder fwd;
  fwd.outcome.answer = upstreamAnswer(429, "upstream body");
  Router router({&p, &p, nullptr, &fwd}, {}, "v0.1.0", {}, kClock);
  const std::string target =
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/unknown?labelSelector=a%3Db";
  auto r = get(router, target);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, "upstream body");
  EXPECT_EQ(get(router, "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/q").status, 200);
  auto c = get(router, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/%2A/unknown");
  EXPECT_EQ(c.status, 429);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/p/m").status, 200);
  EXPECT_EQ(
      fwd.forwarded(),
      (std::vector<std::string>{
          "unknown " + target,
          "pods/unknown /apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/%2A/unknown"}));
  // Names are checked before anything leaves.
  EXPECT_EQ(get(router, "/apis/external.metrics.k8s.io/v1beta1/namespaces/n%22s/x").status, 400);
  EXPECT_EQ(fwd.forwarded().size(), 2u);
}

TEST(Router, WhenEveryUpstreamSays404OursIsTheAnswerNamingThem) {
  class NotFound : public RecordingProvider {
   public:
    common::Task<std::vector<ExternalMetricValue>> getExternalMetric(
        const ExternalMetricRequest& r, const common::RequestContext&) const override {
      throw StatusError::notFound("no metric " + r.metric);
      co_return std::vector<ExternalMetricValue>{};
    }
  } p;
  mocks::FakeMetricsForwarder fwd;
  fwd.outcome.asked = {"https://keda", "https://dd"};
  Router router({&p, &p, nullptr, &fwd}, {}, "v0.1.0", {}, kClock);
  auto r = get(router, "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/unknown");
  EXPECT_EQ(r.status, 404);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["message"],
            "no metric unknown; upstreams asked, each answered 404: https://keda, https://dd");
}
