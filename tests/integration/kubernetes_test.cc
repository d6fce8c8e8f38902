// metrics-adapter as an aggregated APIService: against the fake
// kube-apiserver (discovery, watches, TokenReview, SubjectAccessReview,
// the authentication ConfigMap, the aggregation proxy) and a real
// Prometheus, with kubectl as a real client.
#include <gtest/gtest.h>
#include <atomic>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "fake_apiserver.h"
#include "test_support.h"

using nlohmann::json;
using namespace testsupport;
using namespace std::chrono_literals;

namespace {

// One fake cluster, one Prometheus and one adapter for a suite.
struct KubeEnv {
  TempDir dir;
  FakeApiServer api;
  std::unique_ptr<PrometheusServer> prom;
  std::unique_ptr<AdapterProcess> adapter;
  std::atomic<int> denials{0};

  KubeEnv() {
    for (const char* p : {"web-1", "web-2", "web-3"})
      api.upsert("pods",
                 FakeApiServer::pod("shop", p, {{"app", "web"}, {"pod-template-hash", "7d9f"}}));
    api.upsert("pods", FakeApiServer::pod("shop", "api-1", {{"app", "api"}}));
    api.upsert("pods", FakeApiServer::pod("shop", "web-5", {{"app", "web"}}, "Pending"));
    api.upsert("pods", FakeApiServer::pod("other", "web-1", {{"app", "web"}}));
    api.upsert("nodes", FakeApiServer::node("n1", {{"zone", "a"}}));
    api.upsert("nodes", FakeApiServer::node("n2", {{"zone", "b"}}));
    api.upsert("services",
               {{"metadata",
                 {{"name", "front"}, {"namespace", "shop"}, {"labels", {{"tier", "front"}}}}}});
    api.addToken("viewer-token", {"viewer", {"viewers", "system:authenticated"}});
    api.addToken("admin-token", {"admin", {"system:masters", "system:authenticated"}});
    api.addToken("mallory-token", {"mallory", {"system:authenticated"}});
    api.setBookmarkInterval(500ms);
    // RBAC as a cluster would have it: the adapter may review and list;
    // viewers and the aggregator may read the metrics APIs; mallory may not.
    api.setPolicy([this](const json& spec, std::string& reason) {
      std::string user = spec.value("user", "");
      if (user == "mallory" || user == "denied-by-rbac") {
        ++denials;
        reason = "no RBAC policy matched";
        return false;
      }
      return true;
    });
    prom = std::make_unique<PrometheusServer>(dataDir() + "/kubernetes/series.txt");
    std::string kc = api.writeKubeconfig(dir, "adapter", FakeApiServer::kAdapterToken);
    adapter = std::make_unique<AdapterProcess>(
        std::vector<std::string>{"--config=" + dataDir() + "/kubernetes/config.yaml",
                                 "--prometheus-url=" + prom->url(), "--lister-kubeconfig=" + kc,
                                 "--authentication-kubeconfig=" + kc,
                                 "--authorization-kubeconfig=" + kc, "--discovery-interval=1s",
                                 "--metrics-relist-interval=2s", "--v=4"},
        dir);
    if (!adapter->waitReady(60s))
      throw std::runtime_error("adapter not ready: " + adapter->process().log());
    for (const char* gv : {"custom.metrics.k8s.io/v1beta2", "custom.metrics.k8s.io/v1beta1",
                           "external.metrics.k8s.io/v1beta1", "metrics.k8s.io/v1beta1"}) {
      std::string s(gv);
      api.registerApiService(s.substr(0, s.find('/')), s.substr(s.find('/') + 1), adapter->port());
    }
  }

  // As kube-aggregator forwards a request: front-proxy certificate, user
  // and one X-Remote-Group header per group.
  HttpsResult asProxy(const std::string& target, const std::string& user,
                      const std::vector<std::string>& groups = {"system:authenticated"}) {
    std::vector<std::pair<std::string, std::string>> h{{"X-Remote-User", user}};
    for (const auto& g : groups) h.emplace_back("X-Remote-Group", g);
    static const KeyPair proxyCert = api.frontProxyCa().issue({"front-proxy-client"});
    return httpsRequest(adapter->port(), target, h, &proxyCert);
  }
};

int run(const std::vector<std::string>& argv, const TempDir& dir, std::string& out) {
  static int n = 0;
  std::string log = dir.file("cmd-" + std::to_string(++n) + ".log");
  ChildProcess p(argv, log);
  int rc = p.waitExit(60s);
  out = readFile(log);
  return rc;
}

bool haveKubectl() { return std::system("command -v kubectl >/dev/null 2>&1") == 0; }

std::set<std::string> names(const HttpsResult& r) {
  std::set<std::string> out;
  json j = json::parse(r.body);
  for (const auto& i : j["items"]) out.insert(i["describedObject"]["name"].get<std::string>());
  return out;
}

const std::string kWebPods =
    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/%2A/"
    "app_requests?labelSelector=app%3Dweb";

}  // namespace

// --- authentication and authorization ------------------------------------

class KubeAuth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = new KubeEnv(); }
  static void TearDownTestSuite() { delete env_; }
  static KubeEnv* env_;
};
KubeEnv* KubeAuth::env_ = nullptr;

TEST_F(KubeAuth, HpaTrafficThroughTheAggregator) {
  auto& e = *env_;
  // What the HPA controller's request looks like after kube-aggregator.
  auto r = e.asProxy(
      kWebPods, "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
      {"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names(r), (std::set<std::string>{"web-1", "web-2", "web-3"}));
  // The review carried the user, every group, and kube-apiserver's attributes.
  json spec;
  for (const auto& s : e.api.accessReviewSpecs())
    if (s.value("user", "") == "system:serviceaccount:kube-system:horizontal-pod-autoscaler")
      spec = s;
  ASSERT_FALSE(spec.is_null());
  EXPECT_EQ(spec["groups"].size(), 3u);
  EXPECT_EQ(spec["resourceAttributes"], (json{{"namespace", "shop"},
                                              {"verb", "get"},
                                              {"group", "custom.metrics.k8s.io"},
                                              {"version", "v1beta2"},
                                              {"resource", "pods"},
                                              {"subresource", "app_requests"},
                                              {"name", "*"}}));

  // kube-aggregator's availability probe and OpenAPI download.
  EXPECT_EQ(e.api.probeApiService("custom.metrics.k8s.io", "v1beta1").status, 200);
  EXPECT_EQ(e.asProxy("/openapi/v2", "system:aggregator").status, 200);

  // And end to end: a client's token at the fake, proxied to the adapter.
  auto viaApi = httpsRequest(e.api.port(), kWebPods, {{"Authorization", "Bearer viewer-token"}});
  EXPECT_EQ(viaApi.status, 200) << viaApi.body;
}

TEST_F(KubeAuth, EveryWayInWithoutValidCredentialsIs401) {
  auto& e = *env_;
  const std::string path = "/apis/custom.metrics.k8s.io/v1beta2";
  auto check = [&](const HttpsResult& r, const std::string& why) {
    EXPECT_EQ(r.status, 401) << why << ": " << r.body;
    if (r.status == 401) {
      EXPECT_EQ(json::parse(r.body)["reason"], "Unauthorized") << why;
    }
  };
  check(httpsRequest(e.adapter->port(), path, {}), "no certificate, no token");
  // X-Remote-User without a front-proxy certificate must not authenticate.
  check(httpsRequest(e.adapter->port(), path,
                     {{"X-Remote-User", "admin"}, {"X-Remote-Group", "system:masters"}}),
        "headers only");
  TestCa rogue("rogue-ca");
  KeyPair rogueProxy = rogue.issue({"front-proxy-client"});
  check(httpsRequest(e.adapter->port(), path, {{"X-Remote-User", "admin"}}, &rogueProxy),
        "front-proxy certificate from a wrong CA");
  KeyPair otherName = e.api.frontProxyCa().issue({"not-the-aggregator"});
  check(httpsRequest(e.adapter->port(), path, {{"X-Remote-User", "admin"}}, &otherName),
        "front-proxy certificate with a CN outside requestheader-allowed-names");
  check(httpsRequest(e.adapter->port(), path, {{"Authorization", "Bearer stolen"}}),
        "unknown token");
  // The answer says only "Unauthorized" (as kube-apiserver's); the reason
  // goes to the adapter's log, and the token goes nowhere.
  auto r = httpsRequest(e.adapter->port(), path, {{"Authorization", "Bearer stolen"}});
  EXPECT_EQ(json::parse(r.body)["message"], "Unauthorized") << r.body;
  std::string log = e.adapter->process().log();
  EXPECT_NE(log.find("invalid bearer token"), std::string::npos) << log;
  EXPECT_EQ(log.find("stolen"), std::string::npos) << "a token in the log";
  EXPECT_EQ(r.body.find("stolen"), std::string::npos) << r.body;
  // A token that is not UTF-8 is refused the same way (never a 500).
  check(httpsRequest(e.adapter->port(), path,
                     {{"Authorization",
                       "Bearer \xff\xfe"
                       "abc"}}),
        "a token that is not valid UTF-8");
}

TEST_F(KubeAuth, ValidCredentialsAndTheirDecisions) {
  auto& e = *env_;
  const std::string path =
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/app_requests";
  // A bearer token reviewed by TokenReview.
  auto t = httpsRequest(e.adapter->port(), path, {{"Authorization", "Bearer viewer-token"}});
  EXPECT_EQ(t.status, 200) << t.body;
  // A client certificate from the client CA: CN is the user, O the groups.
  KeyPair bob = e.api.clientCa().issue({"bob", {"team-a"}});
  EXPECT_EQ(httpsRequest(e.adapter->port(), path, {}, &bob).status, 200);
  bool sawBob = false;
  for (const auto& s : e.api.accessReviewSpecs())
    if (s.value("user", "") == "bob" && s["groups"] == json::array({"team-a"})) sawBob = true;
  EXPECT_TRUE(sawBob);
  // Denied by SubjectAccessReview: 403 naming who and what.
  auto d = httpsRequest(e.adapter->port(), path, {{"Authorization", "Bearer mallory-token"}});
  ASSERT_EQ(d.status, 403) << d.body;
  json st = json::parse(d.body);
  EXPECT_EQ(st["reason"], "Forbidden");
  EXPECT_EQ(st["message"],
            "pods.custom.metrics.k8s.io \"web-1\" is forbidden: User \"mallory\" cannot get "
            "resource \"pods/app_requests\" in API group \"custom.metrics.k8s.io\" in the "
            "namespace \"shop\": no RBAC policy matched");
  // system:masters needs no review.
  int before = e.api.accessReviews();
  EXPECT_EQ(e.asProxy(path, "root", {"system:masters"}).status, 200);
  EXPECT_EQ(e.api.accessReviews(), before);
  // Health is open; self-metrics are not.
  EXPECT_EQ(httpsRequest(e.adapter->port(), "/healthz", {}).status, 200);
  EXPECT_EQ(httpsRequest(e.adapter->port(), "/readyz", {}).status, 200);
  EXPECT_EQ(httpsRequest(e.adapter->port(), "/metrics", {}).status, 401);
  EXPECT_EQ(
      httpsRequest(e.adapter->port(), "/metrics", {{"Authorization", "Bearer admin-token"}}).status,
      200);
}

TEST_F(KubeAuth, WarmCachesSendNoReviews) {
  auto& e = *env_;
  const std::string path =
      "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-2/app_requests";
  ASSERT_EQ(
      httpsRequest(e.adapter->port(), path, {{"Authorization", "Bearer viewer-token"}}).status,
      200);
  ASSERT_EQ(e.asProxy(path, "carol").status, 200);
  int tokens = e.api.tokenReviews(), access = e.api.accessReviews();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(
        httpsRequest(e.adapter->port(), path, {{"Authorization", "Bearer viewer-token"}}).status,
        200);
    ASSERT_EQ(e.asProxy(path, "carol").status, 200);
  }
  EXPECT_EQ(e.api.tokenReviews(), tokens);
  EXPECT_EQ(e.api.accessReviews(), access);
}

TEST_F(KubeAuth, KubectlGetRawThroughTheAggregator) {
  auto& e = *env_;
  ASSERT_TRUE(haveKubectl()) << "kubectl is required (scripts/install-deps.sh installs it)";
  std::string kc = e.api.writeKubeconfig(e.dir, "kubectl-viewer", "viewer-token");
  std::string out;
  ASSERT_EQ(run({"kubectl", "--kubeconfig", kc, "get", "--raw",
                 "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/"
                 "app_requests?labelSelector=app%3Dweb"},
                e.dir, out),
            0)
      << out;
  json j = json::parse(out);
  EXPECT_EQ(j["kind"], "MetricValueList");
  EXPECT_EQ(j["items"].size(), 3u);
  std::string denied = e.api.writeKubeconfig(e.dir, "kubectl-mallory", "mallory-token");
  EXPECT_NE(run({"kubectl", "--kubeconfig", denied, "get", "--raw",
                 "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/app_requests"},
                e.dir, out),
            0);
  EXPECT_NE(out.find("forbidden"), std::string::npos) << out;
}

// --- the object cache, discovery and resource metrics ---------------------

class KubeObjects : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = new KubeEnv(); }
  static void TearDownTestSuite() { delete env_; }
  static KubeEnv* env_;
  static HttpsResult get(const std::string& target) { return env_->asProxy(target, "hpa"); }
};
KubeEnv* KubeObjects::env_ = nullptr;

TEST_F(KubeObjects, SelectorsFollowPodChurnWithoutListingPerRequest) {
  auto& e = *env_;
  auto r = get(kWebPods);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names(r), (std::set<std::string>{"web-1", "web-2", "web-3"}));  // not the Pending web-5
  json j = json::parse(r.body);
  EXPECT_EQ(j["items"][0]["value"], "10");
  EXPECT_EQ(j["items"][0]["describedObject"]["kind"], "Pod");
  ASSERT_TRUE(eventually([&] { return e.api.watchCount("pods") > 0; }));
  int lists = e.api.listCount("pods");
  for (int i = 0; i < 25; ++i) ASSERT_EQ(get(kWebPods).status, 200);
  EXPECT_EQ(e.api.listCount("pods"), lists) << "requests must be answered from the watch cache";

  // Relabel, delete, add: each shows up through the watch.
  e.api.upsert("pods", FakeApiServer::pod("shop", "web-3", {{"app", "api"}}));
  EXPECT_TRUE(eventually([&] {
    return names(get(kWebPods)) == std::set<std::string>{"web-1", "web-2"};
  }));
  e.api.remove("pods", "shop", "web-2");
  EXPECT_TRUE(eventually([&] { return names(get(kWebPods)) == std::set<std::string>{"web-1"}; }));
  e.api.upsert("pods", FakeApiServer::pod("shop", "web-4", {{"app", "web"}}));
  EXPECT_TRUE(eventually([&] {
    return names(get(kWebPods)) == std::set<std::string>{"web-1", "web-4"};
  }));

  // A dropped watch resumes from its resourceVersion: nothing is missed
  // and nothing is listed again.
  lists = e.api.listCount("pods");
  e.api.dropWatches();
  e.api.upsert("pods", FakeApiServer::pod("shop", "web-2", {{"app", "web"}}));
  EXPECT_TRUE(eventually([&] {
    return names(get(kWebPods)) == std::set<std::string>{"web-1", "web-2", "web-4"};
  }));
  EXPECT_EQ(e.api.listCount("pods"), lists);

  // 410 Gone (history compacted) forces a relist, as an ERROR event and as
  // an HTTP status; changes made meanwhile are not lost.
  for (bool httpStatus : {false, true}) {
    lists = e.api.listCount("pods");
    e.api.compact(httpStatus);
    e.api.remove("pods", "shop", "web-4");
    EXPECT_TRUE(eventually([&] { return e.api.listCount("pods") > lists; })) << httpStatus;
    EXPECT_TRUE(eventually([&] {
      return names(get(kWebPods)) == std::set<std::string>{"web-1", "web-2"};
    }));
    e.api.upsert("pods", FakeApiServer::pod("shop", "web-4", {{"app", "web"}}));
    EXPECT_TRUE(eventually([&] {
      return names(get(kWebPods)) == std::set<std::string>{"web-1", "web-2", "web-4"};
    }));
  }

  // No matching object: 404, as prometheus-adapter.
  auto none =
      get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/%2A/"
          "app_requests?labelSelector=app%3Dnothing");
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("no pods match labelSelector"), std::string::npos) << none.body;
  // Bad selector: 400.
  EXPECT_EQ(get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/%2A/"
                "app_requests?labelSelector=app%3D%3D%3D")
                .status,
            400);
}

TEST_F(KubeObjects, UncachedResourcesAreListedDirectlyUntilTheirWatchSyncs) {
  auto& e = *env_;
  e.api.setListDelay("services", 1500ms);
  const std::string path =
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/services/%2A/"
      "svc_hits?labelSelector=tier%3Dfront";
  auto r = get(path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names(r), std::set<std::string>{"front"});
  bool direct = false;
  for (const auto& line : e.api.requestLog())
    direct |=
        line.find("GET /api/v1/namespaces/shop/services?limit=500&labelSelector=tier%3Dfront") == 0;
  EXPECT_TRUE(direct) << "the first request must LIST (with the selector) while the cache syncs";
  e.api.setListDelay("services", 0ms);
  ASSERT_TRUE(eventually([&] { return e.api.watchCount("services") > 0; }));
  int lists = e.api.listCount("services");
  EXPECT_EQ(names(get(path)), std::set<std::string>{"front"});
  EXPECT_EQ(e.api.listCount("services"), lists);
}

TEST_F(KubeObjects, CustomResourcesAddedLaterAreDiscovered) {
  auto& e = *env_;
  const std::string path =
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/widgets.stable.example.com/w1/"
      "widget_queue_depth";
  auto before = get(path);
  EXPECT_EQ(before.status, 404) << before.body;
  e.api.registerType({"stable.example.com", "v1", "widgets", "Widget", "widget", true, {"wd"}});
  e.api.upsert("widgets", {{"metadata",
                            {{"name", "w1"}, {"namespace", "shop"}, {"labels", {{"team", "a"}}}}}});
  HttpsResult after;
  EXPECT_TRUE(eventually([&] { return (after = get(path)).status == 200; }, 20s)) << after.body;
  json j = json::parse(after.body);
  EXPECT_EQ(j["items"][0]["describedObject"]["kind"], "Widget");
  EXPECT_EQ(j["items"][0]["describedObject"]["apiVersion"], "stable.example.com/v1");
  EXPECT_EQ(j["items"][0]["value"], "7");
  // Short names and selectors work for it too.
  auto bySelector =
      get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/wd/%2A/"
          "widget_queue_depth?labelSelector=team%3Da");
  EXPECT_EQ(bySelector.status, 200) << bySelector.body;
  auto list = json::parse(get("/apis/custom.metrics.k8s.io/v1beta1").body);
  bool listed = false;
  for (const auto& r : list["resources"])
    listed |= r["name"] == "widgets.stable.example.com/widget_queue_depth";
  EXPECT_TRUE(listed) << list.dump();
}

TEST_F(KubeObjects, ResourceMetricsAsMetricsServerServesThem) {
  auto r = get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["kind"], "PodMetricsList");
  std::map<std::string, json> byName;
  for (const auto& i : j["items"]) byName[i["metadata"]["name"]] = i;
  ASSERT_TRUE(byName.count("web-1")) << r.body;
  const json& web1 = byName["web-1"];
  EXPECT_EQ(web1["metadata"]["namespace"], "shop");
  EXPECT_EQ(web1["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(web1["window"], "1m0s");
  ASSERT_EQ(web1["containers"].size(), 2u);
  EXPECT_EQ(web1["containers"][0]["name"], "app");
  EXPECT_EQ(web1["containers"][0]["usage"], (json{{"cpu", "250m"}, {"memory", "50Mi"}}));
  EXPECT_EQ(web1["containers"][1]["usage"], (json{{"cpu", "5m"}, {"memory", "1500"}}));
  EXPECT_FALSE(byName.count("api-1")) << "no usage series: left out, not zero";
  EXPECT_FALSE(byName.count("web-5")) << "not running";

  auto one = get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1");
  EXPECT_EQ(json::parse(one.body)["kind"], "PodMetrics");
  EXPECT_EQ(get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/api-1").status, 404);
  auto nodes = json::parse(get("/apis/metrics.k8s.io/v1beta1/nodes").body);
  ASSERT_EQ(nodes["items"].size(), 1u) << nodes.dump() << " (n2 has no memory series)";
  EXPECT_EQ(nodes["items"][0]["metadata"]["name"], "n1");
  EXPECT_EQ(nodes["items"][0]["usage"], (json{{"cpu", "1500m"}, {"memory", "2Gi"}}));
  EXPECT_EQ(nodes["items"][0]["metadata"]["labels"]["zone"], "a");
  auto sel = json::parse(
      get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dweb").body);
  EXPECT_GE(sel["items"].size(), 1u);
  for (const auto& i : sel["items"]) EXPECT_EQ(i["metadata"]["labels"]["app"], "web");
}

TEST_F(KubeObjects, KubectlTop) {
  auto& e = *env_;
  ASSERT_TRUE(haveKubectl()) << "kubectl is required (scripts/install-deps.sh installs it)";
  std::string kc = e.api.writeKubeconfig(e.dir, "kubectl-top", "viewer-token");
  std::string out;
  ASSERT_EQ(
      run({"kubectl", "--kubeconfig", kc, "top", "pod", "-n", "shop", "--containers"}, e.dir, out),
      0)
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(web-1\s+app\s+250m\s+50Mi)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(web-1\s+sidecar\s+5m\s+0Mi)"))) << out;
  ASSERT_EQ(run({"kubectl", "--kubeconfig", kc, "top", "pod", "-n", "shop"}, e.dir, out), 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(web-1\s+255m\s+50Mi)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(web-2\s+500m\s+100Mi)"))) << out;
  ASSERT_EQ(run({"kubectl", "--kubeconfig", kc, "top", "node"}, e.dir, out), 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(n1\s+1500m\s+37%\s+2048Mi\s+25%)"))) << out;
}
