// Reload, certificate rotation, shutdown and the rules CLI, as an operator
// would exercise them.
#include <gtest/gtest.h>
#include <signal.h>

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <set>
#include "apiservice/tls_credentials.h"

#include "test_support.h"

using nlohmann::json;
using namespace testsupport;
using namespace std::chrono_literals;

namespace {

const char* kSeries =
    R"({"status":"success","data":[{"__name__":"alpha","namespace":"ns"},{"__name__":"beta","namespace":"ns"}]})";

std::string externalRule(const std::string& series) {
  return "externalRules:\n- seriesQuery: " + series +
         "\n  resources: {overrides: {namespace: {resource: namespace}}}\n"
         "  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})\n";
}

// Answers a seriesQuery naming one metric with that series only.
FakeBackend::Handler backend() {
  return [](const FakeRequest& r) {
    if (r.target.find("/api/v1/series") != std::string::npos) {
      for (const char* name : {"alpha", "beta"}) {
        if (r.target.find(std::string("match%5B%5D=") + name + "&") != std::string::npos) {
          return FakeResponse{200,
                              std::string(R"({"status":"success","data":[{"__name__":")") + name +
                                  R"(","namespace":"ns"}]})",
                              0ms};
        }
      }
      return FakeResponse{200, kSeries, 0ms};
    }
    return FakeResponse{
        200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]}})",
        0ms};
  };
}

std::set<std::string> externalNames(int port) {
  std::set<std::string> out;
  const json list = json::parse(httpsGet(port, "/apis/external.metrics.k8s.io/v1beta1").body);
  for (const auto& r : list["resources"]) out.insert(r["name"]);
  return out;
}

TEST(Reload, BrokenConfigKeepsTheOldOneServing) {
  TempDir dir;
  FakeBackend fake(backend());
  std::string cfg = dir.file("config.yaml");
  writeFile(cfg, externalRule("alpha"));
  AdapterProcess a({"--standalone", "--config=" + cfg, "--prometheus-url=" + fake.url(),
                    "--metrics-relist-interval=1h"},
                   dir);
  ASSERT_TRUE(a.waitReady(10s)) << a.process().log();
  EXPECT_EQ(externalNames(a.port()), (std::set<std::string>{"alpha"}));

  // Line 3, column 17: the unclosed action.
  writeFile(cfg, "externalRules:\n- seriesQuery: beta\n  metricsQuery: 'sum(<<.Series'\n");
  ASSERT_TRUE(a.process().waitForLog("config reload rejected", 10s)) << a.process().log();
  EXPECT_TRUE(a.process().waitForLog(
      cfg + ":3:17: externalRules[0].metricsQuery: template 1:5: unclosed action", 1s))
      << a.process().log();
  EXPECT_EQ(externalNames(a.port()), (std::set<std::string>{"alpha"}));
  EXPECT_EQ(httpsGet(a.port(), "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/alpha").status,
            200);
  std::string m = httpsGet(a.port(), "/metrics").body;
  EXPECT_NE(m.find("metrics_adapter_config_last_reload_successful 0"), std::string::npos);
  EXPECT_NE(m.find("metrics_adapter_config_generation 1"), std::string::npos);

  writeFile(cfg, externalRule("beta"));
  EXPECT_TRUE(
      eventually([&] { return externalNames(a.port()) == std::set<std::string>{"beta"}; }, 10s))
      << a.process().log();
  EXPECT_NE(httpsGet(a.port(), "/metrics").body.find("metrics_adapter_config_generation 2"),
            std::string::npos);
}

TEST(Reload, SighupReloads) {
  TempDir dir;
  FakeBackend fake(backend());
  std::string cfg = dir.file("config.yaml");
  writeFile(cfg, externalRule("alpha"));
  AdapterProcess a({"--standalone", "--config=" + cfg, "--prometheus-url=" + fake.url()}, dir);
  ASSERT_TRUE(a.waitReady(10s));
  a.process().signal(SIGHUP);
  EXPECT_TRUE(a.process().waitForLog("reloaded config", 5s)) << a.process().log();
  EXPECT_TRUE(a.process().waitForLog("generation=2", 1s));
}

TEST(Startup, InvalidConfigFailsWithPosition) {
  TempDir dir;
  std::string cfg = dir.file("bad.yaml");
  writeFile(cfg,
            "rules:\n- seriesQuery: x\n  metricsQuery: y\n  resources: {template: "
            "'<<.Resource>>'}\n  name: {matches: '(a)(b)'}\n");
  ChildProcess p({binary("metrics-adapter"), "--standalone", "--config=" + cfg, "--secure-port=0",
                  "--cert-dir=" + dir.file("certs")},
                 dir.file("out.log"));
  EXPECT_EQ(p.waitExit(10s), 1);
  EXPECT_NE(
      p.log().find(cfg + ":5:9: rules[0].name: name.matches has 2 groups, so name.as is required"),
      std::string::npos)
      << p.log();
}

TEST(Startup, FlagErrorsAreClear) {
  TempDir dir;
  ChildProcess p(
      {binary("metrics-adapter"), "--standalone", "--config=x", "--metrics-relist-interval=soon"},
      dir.file("out.log"));
  EXPECT_EQ(p.waitExit(10s), 2);
  EXPECT_NE(p.log().find("--metrics-relist-interval=soon: expected a duration"), std::string::npos)
      << p.log();
  // Outside a cluster and without kubeconfigs: a startup error naming
  // the ways out.
  ChildProcess q({binary("metrics-adapter"), "--config=x"}, dir.file("out2.log"));
  EXPECT_EQ(q.waitExit(10s), 1);
  EXPECT_NE(q.log().find("not running in a cluster"), std::string::npos) << q.log();
  EXPECT_NE(q.log().find("--lister-kubeconfig"), std::string::npos) << q.log();
  EXPECT_NE(q.log().find("--standalone"), std::string::npos) << q.log();
  ChildProcess r(
      {binary("metrics-adapter"), "--standalone", "--config=x", "--lister-kubeconfig=/k"},
      dir.file("out3.log"));
  EXPECT_EQ(r.waitExit(10s), 2);
  EXPECT_NE(r.log().find("--lister-kubeconfig has no effect with --standalone"), std::string::npos)
      << r.log();
  ChildProcess h({binary("metrics-adapter"), "--help"}, dir.file("help.log"));
  EXPECT_EQ(h.waitExit(10s), 0);
  for (const char* flag :
       {"--prometheus-url", "--metrics-relist-interval", "--metrics-max-age", "--secure-port",
        "--tls-cert-file", "--cert-dir", "--prometheus-header", "--log-format", "--standalone"}) {
    EXPECT_NE(h.log().find(flag), std::string::npos) << flag;
  }
}

// Series discovery answers at once; every query answers 1 after `delay`.
FakeBackend::Handler slowQueries(std::chrono::milliseconds delay) {
  return [delay](const FakeRequest& r) {
    if (r.target.find("/api/v1/series") != std::string::npos)
      return FakeResponse{200, kSeries, 0ms};
    return FakeResponse{
        200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]}})",
        delay};
  };
}

TEST(Shutdown, SigtermDrainsInFlightRequests) {
  TempDir dir;
  FakeBackend fake(slowQueries(1500ms));
  std::string cfg = dir.file("config.yaml");
  writeFile(cfg, externalRule("alpha"));
  AdapterProcess a({"--standalone", "--config=" + cfg, "--prometheus-url=" + fake.url()}, dir);
  ASSERT_TRUE(a.waitReady(10s));
  int port = a.port();
  std::future<HttpsResult> inflight = std::async(std::launch::async, [port] {
    return httpsGet(port, "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/alpha");
  });
  std::this_thread::sleep_for(400ms);
  a.process().signal(SIGTERM);
  EXPECT_EQ(inflight.get().status, 200);
  EXPECT_EQ(a.process().waitExit(10s), 0) << a.process().log();
  EXPECT_NE(a.process().log().find("shutting down"), std::string::npos);
}

std::string peerFingerprint(int port) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<asio::ip::tcp::socket> s(ioc, ctx);
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  s.handshake(asio::ssl::stream_base::client);
  X509* cert = SSL_get1_peer_certificate(s.native_handle());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  X509_free(cert);
  return std::string(reinterpret_cast<char*>(md), n);
}

// A client that sends part of its headers and stalls is cut off after
// --request-header-timeout; an idle keep-alive connection is not.
TEST(Serving, SlowHeadersAreCutOffAtTheHeaderTimeout) {
  namespace asio = boost::asio;
  TempDir dir;
  FakeBackend fake([](const FakeRequest&) { return FakeResponse{200, kSeries, 0ms}; });
  std::string cfg = dir.file("config.yaml");
  writeFile(cfg, externalRule("alpha"));
  AdapterProcess a({"--standalone", "--config=" + cfg, "--prometheus-url=" + fake.url(),
                    "--request-header-timeout=500ms"},
                   dir);
  ASSERT_TRUE(a.waitReady(10s));
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<asio::ip::tcp::socket> s(ioc, ctx);
  s.next_layer().connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(a.port())});
  s.handshake(asio::ssl::stream_base::client);
  asio::write(s, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n")));
  auto t0 = std::chrono::steady_clock::now();
  char buf[64];
  boost::system::error_code ec;
  size_t n = s.read_some(asio::buffer(buf), ec);  // blocks until the server closes
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(n, 0u) << "no answer to half a request";
  EXPECT_TRUE(ec) << "the connection is closed";
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 3s);
}

// A request whose client goes away stops: its backend query is abandoned,
// the adapter keeps serving.
TEST(Serving, AClientThatLeavesCancelsItsBackendCall) {
  namespace asio = boost::asio;
  TempDir dir;
  FakeBackend fake(slowQueries(3s));
  std::string cfg = dir.file("config.yaml");
  writeFile(cfg, externalRule("alpha"));
  AdapterProcess a({"--standalone", "--config=" + cfg, "--prometheus-url=" + fake.url(), "--v=2"},
                   dir);
  ASSERT_TRUE(a.waitReady(10s));
  size_t before = fake.connections();
  {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);
    asio::ssl::stream<asio::ip::tcp::socket> s(ioc, ctx);
    s.next_layer().connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(a.port())});
    s.handshake(asio::ssl::stream_base::client);
    asio::write(
        s, asio::buffer(std::string("GET /apis/external.metrics.k8s.io/v1beta1/namespaces/ns/alpha "
                                    "HTTP/1.1\r\nHost: x\r\n\r\n")));
    std::this_thread::sleep_for(300ms);  // the query is at the backend now
    s.next_layer().close();              // the client dies: FIN, no answer awaited
  }
  // The abandoned query's connection is closed, not returned to the pool:
  // the next query needs a new one, long before the 3 s answer.
  auto t0 = std::chrono::steady_clock::now();
  auto h = httpsGet(a.port(), "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  std::this_thread::sleep_for(3500ms);
  EXPECT_EQ(httpsGet(a.port(), "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/alpha").status,
            200);
  EXPECT_GE(fake.connections(), before + 2) << "the cancelled query's connection was dropped";
}

TEST(Tls, ServingCertificateIsReloaded) {
  TempDir dir;
  FakeBackend fake(backend());
  std::string cfg = dir.file("config.yaml");
  writeFile(cfg, externalRule("alpha"));
  auto [cert1, key1] =
      apiservice::TlsCredentials::ensureSelfSigned(dir.path() / "one", {"localhost"});
  std::this_thread::sleep_for(1100ms);  // a distinct serial and validity time
  auto [cert2, key2] =
      apiservice::TlsCredentials::ensureSelfSigned(dir.path() / "two", {"localhost"});
  std::string cert = dir.file("tls.crt"), key = dir.file("tls.key");
  writeFile(cert, readFile(cert1));
  writeFile(key, readFile(key1));
  AdapterProcess a({"--standalone", "--config=" + cfg, "--prometheus-url=" + fake.url(),
                    "--tls-cert-file=" + cert, "--tls-private-key-file=" + key},
                   dir);
  ASSERT_TRUE(a.waitReady(10s)) << a.process().log();
  std::string before = peerFingerprint(a.port());
  writeFile(key, readFile(key2));
  writeFile(cert, readFile(cert2));
  EXPECT_TRUE(eventually([&] { return peerFingerprint(a.port()) != before; }, 10s))
      << a.process().log();
  // A broken pair is refused and the current one keeps serving.
  std::string current = peerFingerprint(a.port());
  writeFile(cert, "not a certificate");
  ASSERT_TRUE(a.process().waitForLog("serving certificate reload failed", 10s))
      << a.process().log();
  EXPECT_EQ(peerFingerprint(a.port()), current);
}

TEST(RulesCli, CheckAndExplain) {
  TempDir dir;
  std::string good = dir.file("good.yaml");
  writeFile(good, externalRule("alpha") +
                      "rules:\n- seriesQuery: '{__name__=~\"alpha|beta\"}'\n"
                      "  resources: {overrides: {namespace: {resource: namespace}}}\n"
                      "  name: {matches: '^(.*)$', as: '${1}_x'}\n"
                      "  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n");
  ChildProcess check({binary("metrics-adapter"), "rules", "check", "--config", good},
                     dir.file("check.log"));
  EXPECT_EQ(check.waitExit(10s), 0) << check.log();
  EXPECT_NE(check.log().find("OK: 1 rules, 1 external rules"), std::string::npos) << check.log();

  std::string bad = dir.file("bad.yaml");
  writeFile(bad, "rules:\n- seriesQuery: x\n  metricsQuery: '<<.Series'\n  unknownKey: 1\n");
  ChildProcess checkBad({binary("metrics-adapter"), "rules", "check", "--config", bad},
                        dir.file("bad.log"));
  EXPECT_EQ(checkBad.waitExit(10s), 1);
  EXPECT_NE(checkBad.log().find(bad + ":4:3: rules[0]: unknown key \"unknownKey\""),
            std::string::npos)
      << checkBad.log();
  EXPECT_NE(checkBad.log().find("problem(s) in"), std::string::npos);

  FakeBackend fake(backend());
  ChildProcess explain(
      {binary("metrics-adapter"), "rules", "explain", "--config", good, "--prometheus-url",
       fake.url(), "--metric", "alpha_x", "--resource", "namespaces", "--name", "ns"},
      dir.file("explain.log"));
  EXPECT_EQ(explain.waitExit(10s), 0) << explain.log();
  std::string out = explain.log();
  EXPECT_NE(out.find("2 series"), std::string::npos) << out;
  EXPECT_NE(out.find("namespaces/alpha_x (cluster-scoped)  <- rules[0] from alpha"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("PromQL: sum(alpha{namespace=\"ns\"}) by (namespace)"), std::string::npos)
      << out;

  ChildProcess explainExt(
      {binary("metrics-adapter"), "rules", "explain", "--config", good, "--prometheus-url",
       fake.url(), "--metric", "alpha", "--external", "--namespace", "ns", "--selector", "q=a"},
      dir.file("explain2.log"));
  EXPECT_EQ(explainExt.waitExit(10s), 0) << explainExt.log();
  EXPECT_NE(explainExt.log().find("PromQL: sum(alpha{q=\"a\",namespace=\"ns\"})"),
            std::string::npos)
      << explainExt.log();
}

}  // namespace
