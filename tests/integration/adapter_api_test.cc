// metrics-adapter against a real Prometheus: every route, both versions,
// exact JSON, and the bad-input answers.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "test_support.h"

using nlohmann::json;
using namespace testsupport;

namespace {

class AdapterApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    prom_ = new PrometheusServer(dataDir() + "/integration/series.txt");
    adapter_ = new AdapterProcess(
        {"--standalone", "--config=" + dataDir() + "/integration/config.yaml",
         "--prometheus-url=" + prom_->url(), "--metrics-relist-interval=30s", "--v=4"},
        *dir_);
    ASSERT_TRUE(adapter_->waitReady(std::chrono::seconds(30))) << adapter_->process().log();
  }
  static void TearDownTestSuite() {
    delete adapter_;
    delete prom_;
    delete dir_;
  }

  static HttpsResult get(const std::string& target) { return httpsGet(adapter_->port(), target); }

  // Parses a JSON answer, checks each timestamp is RFC 3339 UTC and recent,
  // and blanks it so the rest compares exactly.
  static json normalized(const std::string& body) {
    json j = json::parse(body);
    if (j.contains("items")) {
      for (auto& item : j["items"]) {
        std::string ts = item.at("timestamp");
        EXPECT_TRUE(std::regex_match(ts, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"))) << ts;
        item["timestamp"] = "T";
      }
    }
    return j;
  }

  static void expectStatus(const std::string& target, int code, const std::string& reason,
                           const std::string& fragment) {
    auto r = get(target);
    EXPECT_EQ(r.status, code) << target << ": " << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["kind"], "Status");
    EXPECT_EQ(j["apiVersion"], "v1");
    EXPECT_EQ(j["status"], "Failure");
    EXPECT_EQ(j["code"], code);
    EXPECT_EQ(j["reason"], reason);
    EXPECT_NE(j["message"].get<std::string>().find(fragment), std::string::npos) << j["message"];
  }

  static TempDir* dir_;
  static PrometheusServer* prom_;
  static AdapterProcess* adapter_;
};

TempDir* AdapterApi::dir_ = nullptr;
PrometheusServer* AdapterApi::prom_ = nullptr;
AdapterProcess* AdapterApi::adapter_ = nullptr;

const char* kCustom = "/apis/custom.metrics.k8s.io";
const char* kExternal = "/apis/external.metrics.k8s.io/v1beta1";

TEST_F(AdapterApi, DiscoveryDocuments) {
  json groups = json::parse(get("/apis").body);
  EXPECT_EQ(groups["kind"], "APIGroupList");
  ASSERT_EQ(groups["groups"].size(), 2u);
  EXPECT_EQ(groups["groups"][0]["name"], "custom.metrics.k8s.io");
  EXPECT_EQ(groups["groups"][0]["preferredVersion"]["groupVersion"],
            "custom.metrics.k8s.io/v1beta2");
  EXPECT_EQ(groups["groups"][1]["versions"][0]["groupVersion"], "external.metrics.k8s.io/v1beta1");

  json group = json::parse(get(kCustom).body);
  EXPECT_EQ(group["kind"], "APIGroup");
  EXPECT_EQ(group["versions"].size(), 2u);

  for (const char* v : {"v1beta1", "v1beta2"}) {
    json list = json::parse(get(std::string(kCustom) + "/" + v).body);
    EXPECT_EQ(list["kind"], "APIResourceList");
    EXPECT_EQ(list["groupVersion"], std::string("custom.metrics.k8s.io/") + v);
    std::set<std::string> names;
    for (const auto& r : list["resources"]) {
      names.insert(r["name"]);
      EXPECT_EQ(r["kind"], "MetricValueList");
      EXPECT_EQ(r["verbs"], json::array({"get"}));
      EXPECT_EQ(r["singularName"], "");
      if (r["name"] == "pods/test_gauge") {
        EXPECT_TRUE(r["namespaced"].get<bool>());
      }
      if (r["name"] == "nodes/node_temp" || r["name"] == "namespaces/test_gauge") {
        EXPECT_FALSE(r["namespaced"].get<bool>());
      }
    }
    std::set<std::string> want = {"pods/test_gauge",
                                  "namespaces/test_gauge",
                                  "pods/test_nan",
                                  "namespaces/test_nan",
                                  "pods/test_inf",
                                  "namespaces/test_inf",
                                  "nodes/node_temp",
                                  "services/svc_hits",
                                  "namespaces/svc_hits",
                                  "deployments.apps/deploy_replicas_wanted",
                                  "namespaces/deploy_replicas_wanted",
                                  "pods/http_requests_per_second",
                                  "namespaces/http_requests_per_second",
                                  "pods/raw_gauge",
                                  "namespaces/raw_gauge",
                                  "pods/raw_inf",
                                  "namespaces/raw_inf"};
    EXPECT_EQ(names, want);
  }
  json ext = json::parse(get(kExternal).body);
  EXPECT_EQ(ext["groupVersion"], "external.metrics.k8s.io/v1beta1");
  std::set<std::string> extNames;
  for (const auto& r : ext["resources"]) {
    extNames.insert(r["name"]);
    EXPECT_EQ(r["kind"], "ExternalMetricValueList");
  }
  EXPECT_EQ(extNames, (std::set<std::string>{"ext_global", "ext_queue"}));
}

TEST_F(AdapterApi, NamedPodV1beta1ExactJson) {
  auto r = get(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p1/test_gauge");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(normalized(r.body),
            json::parse(R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1",
    "metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"ns1","name":"p1","apiVersion":"/v1"},
    "metricName":"test_gauge","timestamp":"T","value":"1500m","selector":null}]})"));
}

TEST_F(AdapterApi, NamedPodV1beta2ExactJson) {
  auto r = get(std::string(kCustom) + "/v1beta2/namespaces/ns1/pods/p2/test_gauge");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(normalized(r.body),
            json::parse(R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta2",
    "metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"ns1","name":"p2","apiVersion":"/v1"},
    "metric":{"name":"test_gauge","selector":null},"timestamp":"T","value":"2k"}]})"));
}

TEST_F(AdapterApi, AllPodsInNamespaceWithEncodedStar) {
  for (const char* star : {"%2A", "*"}) {
    auto r = get(std::string(kCustom) + "/v1beta2/namespaces/ns1/pods/" + star + "/test_gauge");
    ASSERT_EQ(r.status, 200) << r.body;
    json j = normalized(r.body);
    ASSERT_EQ(j["items"].size(), 2u);
    EXPECT_EQ(j["items"][0]["describedObject"]["name"], "p1");
    EXPECT_EQ(j["items"][0]["value"], "1500m");
    EXPECT_EQ(j["items"][1]["describedObject"]["name"], "p2");
    EXPECT_EQ(j["items"][1]["value"], "2k");
  }
  json ns2 =
      normalized(get(std::string(kCustom) + "/v1beta1/namespaces/ns2/pods/*/test_gauge").body);
  ASSERT_EQ(ns2["items"].size(), 1u);
  EXPECT_EQ(ns2["items"][0]["value"], "1m");
}

TEST_F(AdapterApi, ResourceNameForms) {
  for (const char* res : {"pods", "pod", "po", "Pods"}) {
    auto r = get(std::string(kCustom) + "/v1beta1/namespaces/ns1/" + res + "/p1/test_gauge");
    EXPECT_EQ(r.status, 200) << res << ": " << r.body;
  }
  auto d = get(std::string(kCustom) +
               "/v1beta2/namespaces/ns1/deployments.apps/web/deploy_replicas_wanted");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(normalized(d.body)["items"][0]["describedObject"],
            json::parse(
                R"({"kind":"Deployment","namespace":"ns1","name":"web","apiVersion":"apps/v1"})"));
  auto s = get(std::string(kCustom) + "/v1beta1/namespaces/ns1/services/web/svc_hits");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(normalized(s.body)["items"][0]["value"], "7");
}

TEST_F(AdapterApi, NamespaceAndClusterScopedObjects) {
  auto ns = get(std::string(kCustom) + "/v1beta1/namespaces/ns1/metrics/test_gauge");
  ASSERT_EQ(ns.status, 200) << ns.body;
  EXPECT_EQ(normalized(ns.body),
            json::parse(R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1",
    "metadata":{},"items":[{"describedObject":{"kind":"Namespace","name":"ns1","apiVersion":"/v1"},
    "metricName":"test_gauge","timestamp":"T","value":"2001500m","selector":null}]})"));
  auto node = get(std::string(kCustom) + "/v1beta2/nodes/n1/node_temp");
  ASSERT_EQ(node.status, 200) << node.body;
  EXPECT_EQ(normalized(node.body)["items"][0],
            json::parse(R"({"describedObject":{"kind":"Node","name":"n1","apiVersion":"/v1"},
              "metric":{"name":"node_temp","selector":null},"timestamp":"T","value":"40"})"));
  // A name with dots is matched exactly, not as a regex.
  json all = normalized(get(std::string(kCustom) + "/v1beta2/nodes/*/node_temp").body);
  ASSERT_EQ(all["items"].size(), 2u);
  EXPECT_EQ(all["items"][1]["describedObject"]["name"], "n2.example.com");
  EXPECT_EQ(get(std::string(kCustom) + "/v1beta2/nodes/n2.example.com/node_temp").status, 200);
  EXPECT_EQ(get(std::string(kCustom) + "/v1beta2/nodes/n2xexample.com/node_temp").status, 404);
}

TEST_F(AdapterApi, MetricLabelSelectorNarrowsSeries) {
  auto r = get(std::string(kCustom) +
               "/v1beta2/namespaces/ns1/pods/*/test_gauge?metricLabelSelector=pod%3Dp2");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = normalized(r.body);
  ASSERT_EQ(j["items"].size(), 1u);
  EXPECT_EQ(j["items"][0]["describedObject"]["name"], "p2");
}

TEST_F(AdapterApi, CounterRate) {
  auto r = get(std::string(kCustom) + "/v1beta2/namespaces/ns1/pods/p1/http_requests_per_second");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string v = json::parse(r.body)["items"][0]["value"];
  // 10 per second: "10" exactly, or within a few milli-units of scrape jitter.
  double val = v.back() == 'm' ? std::stod(v.substr(0, v.size() - 1)) / 1000 : std::stod(v);
  EXPECT_NEAR(val, 10.0, 0.2) << v;
}

TEST_F(AdapterApi, ExternalMetrics) {
  auto one = get(std::string(kExternal) + "/namespaces/ns1/ext_queue?labelSelector=queue%3Da");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(normalized(one.body), json::parse(R"({"kind":"ExternalMetricValueList",
    "apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},
    "items":[{"metricName":"ext_queue","metricLabels":{"queue":"a"},"timestamp":"T","value":"5"}]})"));
  json all = normalized(get(std::string(kExternal) + "/namespaces/ns1/ext_queue").body);
  ASSERT_EQ(all["items"].size(), 2u);
  json ns2 = normalized(
      get(std::string(kExternal) + "/namespaces/ns2/ext_queue?labelSelector=queue+in+%28a%2Cz%29")
          .body);
  ASSERT_EQ(ns2["items"].size(), 1u);
  EXPECT_EQ(ns2["items"][0]["value"], "100");
  // No namespace label in the rule: served across namespaces instead of a 500.
  json global = normalized(get(std::string(kExternal) + "/namespaces/anything/ext_global").body);
  ASSERT_EQ(global["items"].size(), 1u);
  EXPECT_EQ(global["items"][0]["metricLabels"]["region"], "eu");
}

TEST_F(AdapterApi, UnaggregatedQueryIsAnErrorNotAnArbitraryValue) {
  auto one = get(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p1/raw_gauge");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(normalized(one.body)["items"][0]["value"], "1500m");
  // ns1 has +Inf (p1) and 4 (p2): reporting the one finite sample would be a wrong number.
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/metrics/raw_inf", 500,
               "InternalError", "several samples for namespaces \"ns1\"");
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/metrics/raw_gauge", 500,
               "InternalError", "must aggregate by the object label");
}

TEST_F(AdapterApi, NaNAndInfAreNeverSent) {
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p1/test_nan", 404, "NotFound",
               "NaN or infinite");
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p1/test_inf", 404, "NotFound",
               "NaN or infinite");
  json list =
      normalized(get(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/*/test_inf").body);
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["describedObject"]["name"], "p2");
  EXPECT_EQ(get(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/*/test_nan")
                    .body.find("\"items\":[]") != std::string::npos,
            true);
}

TEST_F(AdapterApi, NotFoundAnswers) {
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p1/no_such_metric", 404,
               "NotFound", "could not find the metric \"no_such_metric\"");
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/nosuchpod/test_gauge", 404,
               "NotFound", "no value for metric \"test_gauge\" on pods \"nosuchpod\"");
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/widgets/w/test_gauge", 404,
               "NotFound", "not a known Kubernetes resource");
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/nodes/n1/node_temp", 404, "NotFound",
               "cluster-scoped");
  expectStatus(std::string(kExternal) + "/namespaces/ns1/nope", 404, "NotFound",
               "external metric \"nope\"");
  expectStatus("/apis/custom.metrics.k8s.io/v1/namespaces/ns1/pods/p1/test_gauge", 404, "NotFound",
               "version v1");
  expectStatus("/apis/other.k8s.io", 404, "NotFound", "not served");
  expectStatus("/nothing/here", 404, "NotFound", "could not find");
  expectStatus(std::string(kCustom) + "/v1beta1/a/b/c/d", 404, "NotFound",
               "no such custom metrics path");
}

TEST_F(AdapterApi, BadRequests) {
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p%ZZ/test_gauge", 400,
               "BadRequest", "malformed percent-encoding");
  expectStatus(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p%22x/test_gauge", 400,
               "BadRequest", "invalid object name");
  expectStatus(
      std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/*/test_gauge?metricLabelSelector=a%3E1",
      400, "BadRequest", "not supported");
  expectStatus(
      std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/*/test_gauge?metricLabelSelector=a+in+(",
      400, "BadRequest", "invalid label selector");
  expectStatus(std::string(kExternal) + "/namespaces/ns1/ext_queue?labelSelector=queue%3D%22x%22",
               400, "BadRequest", "labelSelector");
  expectStatus(
      std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/*/test_gauge?labelSelector=app%3Dweb",
      400, "BadRequest", "needs a Kubernetes connection");
  auto post = httpsGet(adapter_->port(), std::string(kCustom) + "/v1beta1", "POST");
  EXPECT_EQ(post.status, 405);
}

TEST_F(AdapterApi, OverlongRequestIsRefusedAndServerKeepsServing) {
  std::string huge = std::string(kCustom) +
                     "/v1beta1/namespaces/ns1/pods/*/test_gauge?metricLabelSelector=a+in+(" +
                     std::string(2 << 20, 'x') + ")";
  auto r = get(huge);
  EXPECT_EQ(r.status, 431) << r.body;
  EXPECT_EQ(json::parse(r.body)["reason"], "RequestHeaderFieldsTooLarge");
  EXPECT_EQ(get(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p1/test_gauge").status, 200);
}

TEST_F(AdapterApi, HealthVersionOpenApiAndSelfMetrics) {
  for (const char* p : {"/healthz", "/livez", "/readyz"}) {
    auto r = get(p);
    EXPECT_EQ(r.status, 200) << p;
    EXPECT_EQ(r.body, "ok");
  }
  json v = json::parse(get("/version").body);
  EXPECT_EQ(v["gitVersion"], "v0.1.0");
  json o = json::parse(get("/openapi/v2").body);
  EXPECT_EQ(o["swagger"], "2.0");
  EXPECT_TRUE(o["paths"].contains(
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/{namespace}/{resource}/{name}/{metric}"));
  EXPECT_TRUE(
      o["definitions"].contains("io.k8s.metrics.pkg.apis.custom_metrics.v1beta1.MetricValueList"));
  get(std::string(kCustom) + "/v1beta1/namespaces/ns1/pods/p1/test_gauge");
  std::string m = get("/metrics").body;
  for (const char* name :
       {"metrics_adapter_http_requests_total{code=\"200\",route=\"custom_metric\"}",
        "metrics_adapter_http_request_duration_seconds_bucket",
        "metrics_adapter_backend_request_duration_seconds_count{call=\"query\"}",
        "metrics_adapter_relist_duration_seconds_count", "metrics_adapter_catalog_series 20",
        "metrics_adapter_catalog_metrics{api=\"external\"} 2",
        "metrics_adapter_config_generation 1", "metrics_adapter_config_last_reload_successful 1"}) {
    EXPECT_NE(m.find(name), std::string::npos) << name << "\n" << m;
  }
}

TEST_F(AdapterApi, OldTlsVersionsAreRefused) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_1_VERSION);
  SSL_CTX_set_security_level(ctx.native_handle(), 0);
  asio::ssl::stream<asio::ip::tcp::socket> s(ioc, ctx);
  s.next_layer().connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(adapter_->port())});
  boost::system::error_code ec;
  s.handshake(asio::ssl::stream_base::client, ec);
  EXPECT_TRUE(ec) << "a TLS 1.1 handshake must fail";
}

TEST_F(AdapterApi, LogsNeverContainSecrets) {
  // The adapter logs queries at --v=4 but never authorization material.
  std::string log = adapter_->process().log();
  EXPECT_EQ(log.find("Authorization"), std::string::npos);
  EXPECT_EQ(log.find("BEGIN"), std::string::npos);
}

}  // namespace
