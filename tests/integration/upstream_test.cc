// Sharing the metrics APIs: metrics-adapter owns the APIServices and
// forwards what it does not serve to the server that owned them before.
// The upstream is a second metrics-adapter behind real TLS that demands a
// bearer token (checked with a TokenReview at the fake apiserver), with
// KEDA-style names; upstreams that are down or stall; a name both serve;
// a name nobody serves; and an APIService moved under HPA traffic.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "fake_apiserver.h"
#include "test_support.h"

using nlohmann::json;
using namespace testsupport;
using namespace std::chrono_literals;

namespace {

const std::string kForwarderToken = "forwarder-token";
const std::string kKedaStyle =
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
    "s0-kafka-orders?labelSelector=scaledobject.keda.sh%2Fname%3Dorders";
const std::string kUpstreamPods =
    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/%2A/upstream_rps";

// Accepts TCP connections and never answers: an upstream that hangs.
class StalledListener {
 public:
  StalledListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 64) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen");
    port_ = ntohs(a.sin_port);
  }
  ~StalledListener() { close(fd_); }  // the backlog's connections are never accepted
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

int valueOf(const HttpsResult& r) {
  json j = json::parse(r.body);
  return std::stoi(j["items"].at(0)["value"].get<std::string>());
}

std::set<std::string> listed(const HttpsResult& r) {
  std::set<std::string> out;
  const json doc = json::parse(r.body);
  for (const auto& res : doc["resources"]) out.insert(res["name"].get<std::string>());
  return out;
}

// A fake cluster, one Prometheus, the upstream (U) and the forwarding
// adapter (A); U's API services are registered at the fake aggregator.
struct ForwardingEnv {
  TempDir dir;
  FakeApiServer api;
  TestCa upstreamCa{"upstream-ca"};
  std::unique_ptr<PrometheusServer> prom;
  std::unique_ptr<AdapterProcess> upstream;
  std::unique_ptr<AdapterProcess> adapter;

  ForwardingEnv() {
    api.upsert("pods", FakeApiServer::pod("shop", "web-1", {{"app", "web"}}));
    api.upsert("pods", FakeApiServer::pod("shop", "web-2", {{"app", "web"}}));
    api.addToken("viewer-token", {"viewer", {"system:authenticated"}});
    api.addToken(kForwarderToken,
                 {"system:serviceaccount:monitoring:metrics-adapter", {"system:serviceaccounts"}});
    api.setPolicy([](const json& spec, std::string& reason) {
      if (spec.value("user", "") == "mallory") {
        reason = "no RBAC policy matched";
        return false;
      }
      return true;
    });
    prom = std::make_unique<PrometheusServer>(dataDir() + "/upstream/series.txt");
    CertOptions serving("upstream");
    serving.ipAddresses = {"127.0.0.1"};
    serving.serverAuth = true;
    KeyPair cert = upstreamCa.issue(serving);
    writeFile(dir.file("upstream.crt"), cert.certPem);
    writeFile(dir.file("upstream.key"), cert.keyPem);
    writeFile(dir.file("upstream-ca.crt"), upstreamCa.pem());
    writeFile(dir.file("token"), kForwarderToken + "\n");
    std::string kc = api.writeKubeconfig(dir, "adapter", FakeApiServer::kAdapterToken);
    std::vector<std::string> cluster{
        "--prometheus-url=" + prom->url(),   "--lister-kubeconfig=" + kc,
        "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
        "--metrics-relist-interval=2s",      "--v=2"};
    auto args = cluster;
    args.insert(args.end(), {"--config=" + dataDir() + "/upstream/upstream.yaml",
                             "--tls-cert-file=" + dir.file("upstream.crt"),
                             "--tls-private-key-file=" + dir.file("upstream.key")});
    upstream = std::make_unique<AdapterProcess>(args, dir, "upstream");
    if (!upstream->waitReady(60s))
      throw std::runtime_error("upstream not ready: " + upstream->process().log());
    std::string url = "https://127.0.0.1:" + std::to_string(upstream->port());
    args = cluster;
    args.insert(
        args.end(),
        {"--config=" + dataDir() + "/upstream/forwarder.yaml", "--external-metrics-upstream=" + url,
         "--custom-metrics-upstream=" + url, "--upstream-ca-file=" + dir.file("upstream-ca.crt"),
         "--upstream-token-file=" + dir.file("token"), "--upstream-discovery-interval=1s"});
    adapter = std::make_unique<AdapterProcess>(args, dir, "forwarder");
    if (!adapter->waitReady(60s))
      throw std::runtime_error("forwarder not ready: " + adapter->process().log());
    registerAll(upstream->port());
  }

  void registerAll(int port) {
    for (const char* gv : {"custom.metrics.k8s.io/v1beta2", "custom.metrics.k8s.io/v1beta1",
                           "external.metrics.k8s.io/v1beta1"}) {
      std::string s(gv);
      api.registerApiService(s.substr(0, s.find('/')), s.substr(s.find('/') + 1), port);
    }
  }

  // As kube-aggregator forwards a request to A.
  HttpsResult asProxy(const std::string& target, const std::string& user = "hpa") {
    static const KeyPair proxyCert = api.frontProxyCa().issue({"front-proxy-client"});
    return httpsRequest(adapter->port(), target,
                        {{"X-Remote-User", user}, {"X-Remote-Group", "system:authenticated"}},
                        &proxyCert);
  }
  // `metrics-adapter rules explain` for an external metric, with A's
  // upstream flags; its output in `out`.
  int explain(const std::string& metric, std::string& out) {
    std::string file = dir.file("explain-" + metric + ".out");
    ChildProcess p(
        {binary("metrics-adapter"), "rules", "explain",
         "--config=" + dataDir() + "/upstream/forwarder.yaml", "--prometheus-url=" + prom->url(),
         "--metric=" + metric, "--external",
         "--external-metrics-upstream=https://127.0.0.1:" + std::to_string(upstream->port()),
         "--upstream-ca-file=" + dir.file("upstream-ca.crt"),
         "--upstream-token-file=" + dir.file("token")},
        file);
    int rc = p.waitExit(30s);
    out = readFile(file);
    return rc;
  }
  // U called directly, as A calls it.
  HttpsResult atUpstream(const std::string& target) {
    return httpsRequest(upstream->port(), target, {{"Authorization", "Bearer " + kForwarderToken}});
  }
};

}  // namespace

class Upstreams : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = new ForwardingEnv(); }
  static void TearDownTestSuite() { delete env_; }
  static ForwardingEnv* env_;
};
ForwardingEnv* Upstreams::env_ = nullptr;

TEST_F(Upstreams, TheUpstreamDemandsTheToken) {
  auto& e = *env_;
  EXPECT_EQ(httpsRequest(e.upstream->port(), kKedaStyle, {}).status, 401);
  EXPECT_EQ(
      httpsRequest(e.upstream->port(), kKedaStyle, {{"Authorization", "Bearer wrong"}}).status,
      401);
  EXPECT_EQ(e.atUpstream(kKedaStyle).status, 200);
}

TEST_F(Upstreams, DiscoveryListsOursAndTheUpstreamsOnce) {
  auto& e = *env_;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = e.asProxy("/apis/external.metrics.k8s.io/v1beta1");
        return r.status == 200 && listed(r).count("s0-kafka-orders");
      },
      15s))
      << e.adapter->process().log();
  auto ext = e.asProxy("/apis/external.metrics.k8s.io/v1beta1");
  EXPECT_EQ(listed(ext), (std::set<std::string>{"jobs_waiting", "s0-kafka-orders"})) << ext.body;
  EXPECT_EQ(json::parse(ext.body)["resources"].size(), 2u) << "no duplicates: " << ext.body;
  for (const char* v : {"v1beta1", "v1beta2"}) {
    auto cus = e.asProxy(std::string("/apis/custom.metrics.k8s.io/") + v);
    ASSERT_EQ(cus.status, 200) << cus.body;
    EXPECT_TRUE(listed(cus).count("pods/app_requests")) << cus.body;
    EXPECT_TRUE(listed(cus).count("pods/upstream_rps")) << cus.body;
  }
}

TEST_F(Upstreams, KedaStyleNamesAreForwardedAsTheyCame) {
  auto& e = *env_;
  auto direct = e.atUpstream(kKedaStyle);
  ASSERT_EQ(direct.status, 200) << direct.body;
  auto r = e.asProxy(kKedaStyle);
  ASSERT_EQ(r.status, 200) << r.body << e.adapter->process().log();
  EXPECT_EQ(valueOf(r), 42);
  EXPECT_EQ(json::parse(r.body)["items"], json::parse(direct.body)["items"]);
  EXPECT_EQ(json::parse(r.body)["kind"], "ExternalMetricValueList");
  // The upstream saw the request as ours: it authorized our service account.
  bool sawOurs = false;
  for (const json& s : e.api.accessReviewSpecs()) {
    auto attrs = s.find("resourceAttributes");
    if (s.value("user", "") == "system:serviceaccount:monitoring:metrics-adapter" &&
        attrs != s.end() && attrs->is_object() && attrs->value("resource", "") == "s0-kafka-orders")
      sawOurs = true;
  }
  EXPECT_TRUE(sawOurs);
}

TEST_F(Upstreams, CustomMetricsAreForwardedWithTheirSelector) {
  auto& e = *env_;
  for (const std::string q : {"", "?labelSelector=app%3Dweb"}) {
    auto direct = e.atUpstream(kUpstreamPods + q);
    ASSERT_EQ(direct.status, 200) << direct.body;
    auto r = e.asProxy(kUpstreamPods + q);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["items"], json::parse(direct.body)["items"]);
    EXPECT_EQ(json::parse(r.body)["items"].size(), 2u) << r.body;
  }
  // v1beta1 goes to the same version upstream.
  auto v1 =
      e.asProxy("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/upstream_rps");
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(json::parse(v1.body)["apiVersion"], "custom.metrics.k8s.io/v1beta1");
  // Our own metric is answered here.
  auto ours =
      e.asProxy("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/app_requests");
  ASSERT_EQ(ours.status, 200) << ours.body;
}

TEST_F(Upstreams, AnUpstreamErrorComesBackUnchanged) {
  auto& e = *env_;
  const std::string bad = kUpstreamPods + "?labelSelector=%3D%3Dx";
  auto direct = e.atUpstream(bad);
  ASSERT_EQ(direct.status, 400) << direct.body;
  auto r = e.asProxy(bad);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, direct.body);
}

TEST_F(Upstreams, ANameWeServeIsOurs) {
  auto& e = *env_;
  const std::string path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/jobs_waiting";
  ASSERT_EQ(valueOf(e.atUpstream(path)), 111);
  auto r = e.asProxy(path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(valueOf(r), 7);
  EXPECT_TRUE(e.adapter->process().waitForLog("upstream metrics shadowed", 10s));
  std::string log = e.adapter->process().log();
  EXPECT_NE(log.find("jobs_waiting"), std::string::npos);

  // rules explain names the shadowing.
  std::string url = "https://127.0.0.1:" + std::to_string(e.upstream->port());
  std::string out;
  ASSERT_EQ(e.explain("jobs_waiting", out), 0) << out;
  EXPECT_NE(out.find("shadows the same name at upstream " + url), std::string::npos) << out;
  EXPECT_NE(out.find("shadowed (served here instead): jobs_waiting"), std::string::npos) << out;
}

TEST_F(Upstreams, ExplainSaysWhereAForwardedNameGoes) {
  auto& e = *env_;
  std::string url = "https://127.0.0.1:" + std::to_string(e.upstream->port());
  std::string out;
  ASSERT_EQ(e.explain("s0-kafka-orders", out), 0) << out;
  EXPECT_NE(out.find("is not served here\n  forwarded to upstream " + url), std::string::npos)
      << out;
}

TEST_F(Upstreams, ANameNobodyServesIs404NamingTheUpstream) {
  auto& e = *env_;
  auto r = e.asProxy("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/nobody_has_this");
  ASSERT_EQ(r.status, 404) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["kind"], "Status");
  std::string url = "https://127.0.0.1:" + std::to_string(e.upstream->port());
  EXPECT_NE(j["message"].get<std::string>().find(url), std::string::npos) << r.body;
  auto c = e.asProxy("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/nope");
  EXPECT_EQ(c.status, 404) << c.body;
}

TEST_F(Upstreams, ACallerWeDenyNeverReachesTheUpstream) {
  auto& e = *env_;
  auto r = e.asProxy(kKedaStyle, "mallory");
  EXPECT_EQ(r.status, 403) << r.body;
}

TEST_F(Upstreams, SelfMetricsCountForwardedRequests) {
  auto& e = *env_;
  ASSERT_EQ(e.asProxy(kKedaStyle).status, 200);
  auto m = e.asProxy("/metrics", "admin");
  ASSERT_EQ(m.status, 200);
  std::string url = "https://127.0.0.1:" + std::to_string(e.upstream->port());
  EXPECT_TRUE(std::regex_search(
      m.body,
      std::regex("metrics_adapter_upstream_requests_total\\{(code=\"200\",upstream=\"" +
                 std::regex_replace(url, std::regex("[.]"), "\\.") + "\"|upstream=\"" +
                 std::regex_replace(url, std::regex("[.]"), "\\.") + "\",code=\"200\")\\} [1-9]")))
      << m.body;
  EXPECT_NE(m.body.find("metrics_adapter_upstream_request_duration_seconds_count"),
            std::string::npos);
  EXPECT_NE(m.body.find("route=\"forwarded_external_metric\""), std::string::npos);
}

// HPA traffic through the aggregator while the APIService moves from the
// upstream to us: every answer succeeds with the same value.
TEST_F(Upstreams, MovingTheApiServiceLosesNoRequest) {
  auto& e = *env_;
  ASSERT_TRUE(eventually([&] {
    auto r = e.asProxy("/apis/external.metrics.k8s.io/v1beta1");
    return r.status == 200 && listed(r).count("s0-kafka-orders");
  }));
  e.registerAll(e.upstream->port());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string firstFailure;
  std::thread hpa([&] {
    while (!stop) {
      auto r = httpsRequest(e.api.port(), kKedaStyle, {{"Authorization", "Bearer viewer-token"}});
      if (r.status == 200 && valueOf(r) == 42) {
        ++ok;
      } else if (failed++ == 0) {
        firstFailure = std::to_string(r.status) + " " + r.body;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  std::this_thread::sleep_for(1s);
  int beforeMove = ok;
  e.registerAll(e.adapter->port());
  std::this_thread::sleep_for(1500ms);
  stop = true;
  hpa.join();
  EXPECT_EQ(failed, 0) << firstFailure;
  EXPECT_GT(beforeMove, 10);
  EXPECT_GT(ok - beforeMove, 10);
  // After the move the requests went through us.
  auto m = e.asProxy("/metrics", "admin");
  EXPECT_NE(m.body.find("route=\"forwarded_external_metric\""), std::string::npos);
  e.registerAll(e.upstream->port());
}

// --- upstreams that are down or hang -----------------------------------

class UpstreamsDown : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    stalled_ = new StalledListener();
    prom_ = new PrometheusServer(dataDir() + "/upstream/series.txt");
    down_ = "https://127.0.0.1:" + std::to_string(freePort());
    hung_ = "https://127.0.0.1:" + std::to_string(stalled_->port());
    adapter_ = new AdapterProcess(
        {"--standalone", "--config=" + dataDir() + "/upstream/forwarder.yaml",
         "--prometheus-url=" + prom_->url(), "--metrics-relist-interval=2s",
         "--external-metrics-upstream=" + down_, "--external-metrics-upstream=" + hung_,
         "--upstream-timeout=1s", "--upstream-discovery-interval=1s"},
        *dir_);
    if (!adapter_->waitReady(60s)) throw std::runtime_error(adapter_->process().log());
  }
  static void TearDownTestSuite() {
    delete adapter_;
    delete prom_;
    delete stalled_;
    delete dir_;
  }
  static TempDir* dir_;
  static StalledListener* stalled_;
  static PrometheusServer* prom_;
  static AdapterProcess* adapter_;
  static std::string down_, hung_;
};
TempDir* UpstreamsDown::dir_ = nullptr;
StalledListener* UpstreamsDown::stalled_ = nullptr;
PrometheusServer* UpstreamsDown::prom_ = nullptr;
AdapterProcess* UpstreamsDown::adapter_ = nullptr;
std::string UpstreamsDown::down_, UpstreamsDown::hung_;

TEST_F(UpstreamsDown, OurDiscoveryAndOurMetricsStayUp) {
  ASSERT_TRUE(adapter_->process().waitForLog("upstream discovery failed", 10s));
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto d = httpsGet(adapter_->port(), "/apis/external.metrics.k8s.io/v1beta1");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms) << "discovery waits on nothing";
    ASSERT_EQ(d.status, 200) << d.body;
    EXPECT_EQ(listed(d), std::set<std::string>{"jobs_waiting"});
  }
  auto ours = httpsGet(adapter_->port(),
                       "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/jobs_waiting");
  ASSERT_EQ(ours.status, 200) << ours.body;
  EXPECT_EQ(valueOf(ours), 7);
  EXPECT_EQ(httpsGet(adapter_->port(), "/readyz").status, 200);
}

TEST_F(UpstreamsDown, AnUnservedNameIs503NamingThemNeverAnEmptyList) {
  auto start = std::chrono::steady_clock::now();
  auto r = httpsGet(adapter_->port(),
                    "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s0-kafka-orders");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 503) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["kind"], "Status");
  std::string msg = j["message"];
  EXPECT_NE(msg.find(down_), std::string::npos) << msg;
  EXPECT_NE(msg.find(hung_), std::string::npos) << msg;
  EXPECT_NE(msg.find("timeout"), std::string::npos) << msg;
  EXPECT_LT(took, 4s) << "bounded by --upstream-timeout";
  // The health probe never waits on them.
  auto h0 = std::chrono::steady_clock::now();
  EXPECT_EQ(httpsGet(adapter_->port(), "/healthz").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - h0, 200ms);
}

// An answer over --upstream-max-response-bytes is refused, naming the flag.
TEST_F(Upstreams, AnAnswerOverTheLimitIs503NamingTheFlag) {
  auto& e = *env_;
  std::string url = "https://127.0.0.1:" + std::to_string(e.upstream->port());
  AdapterProcess small(
      {"--standalone", "--config=" + dataDir() + "/upstream/forwarder.yaml",
       "--prometheus-url=" + e.prom->url(), "--external-metrics-upstream=" + url,
       "--upstream-ca-file=" + e.dir.file("upstream-ca.crt"),
       "--upstream-token-file=" + e.dir.file("token"), "--upstream-max-response-bytes=64"},
      e.dir, "small");
  ASSERT_TRUE(small.waitReady(30s)) << small.process().log();
  auto r = httpsGet(small.port(), kKedaStyle);
  ASSERT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("--upstream-max-response-bytes"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(url), std::string::npos) << r.body;
}

// The upstream's certificate is renewed by another CA, as a rotation
// goes: our CA file first holds both CAs, then the upstream serves the new
// certificate, then our file holds the new CA alone. Each change is read
// without a restart (a file that does not load is refused), and every
// request and discovery succeeds throughout.
// (Last in the suite: the others run against the first CA.)
TEST_F(Upstreams, ZzARenewedCaIsReadWithoutARestart) {
  auto& e = *env_;
  auto reloads = [&] {
    std::string log = e.adapter->process().log();
    size_t n = 0;
    for (size_t at = log.find("upstream TLS files reloaded"); at != std::string::npos;
         at = log.find("upstream TLS files reloaded", at + 1))
      ++n;
    return n;
  };
  auto allGood = [&] {
    auto r = e.asProxy(kKedaStyle);
    auto d = e.asProxy("/apis/external.metrics.k8s.io/v1beta1");
    return r.status == 200 && d.status == 200 && listed(d).count("s0-kafka-orders") == 1;
  };
  size_t failedBefore = e.adapter->process().log().find("upstream discovery failed");
  ASSERT_EQ(failedBefore, std::string::npos);
  std::string firstCa = readFile(e.dir.file("upstream-ca.crt"));
  TestCa renewed("upstream-ca-2");
  size_t n = reloads();
  writeFile(e.dir.file("upstream-ca.crt"), firstCa + renewed.pem());
  // A has two upstreams (external and custom), both at U: each reloads.
  ASSERT_TRUE(eventually([&] { return reloads() == n + 2; }, 10s));
  EXPECT_TRUE(allGood());

  CertOptions serving("upstream");
  serving.ipAddresses = {"127.0.0.1"};
  serving.serverAuth = true;
  KeyPair cert = renewed.issue(serving);
  writeFile(e.dir.file("upstream.key"), cert.keyPem);
  writeFile(e.dir.file("upstream.crt"), cert.certPem);
  ASSERT_TRUE(e.upstream->process().waitForLog("reloaded serving certificate", 10s))
      << e.upstream->process().log();
  EXPECT_TRUE(allGood());

  // A file that does not load leaves the previous CA in use.
  writeFile(e.dir.file("upstream-ca.crt"), "not a certificate\n");
  ASSERT_TRUE(e.adapter->process().waitForLog("cannot be loaded", 10s));
  EXPECT_TRUE(allGood());

  writeFile(e.dir.file("upstream-ca.crt"), renewed.pem());
  ASSERT_TRUE(eventually([&] { return reloads() == n + 4; }, 10s));
  // New connections, verified against the new CA alone.
  std::this_thread::sleep_for(2500ms);  // two discovery refreshes
  EXPECT_TRUE(allGood());
  EXPECT_EQ(e.adapter->process().log().find("upstream discovery failed"), std::string::npos)
      << e.adapter->process().log();
}
