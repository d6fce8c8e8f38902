#include "adapter/upstream/upstreams_config.h"

#include <gtest/gtest.h>

#include "adapter/upstream/listed_metrics.h"

using adapter::parseUpstreamsConfig;
using apiservice::MetricsApi;

namespace {
std::string errorOf(const std::string& yaml) {
  try {
    parseUpstreamsConfig(yaml, "up.yaml", "/sa/token");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(UpstreamsConfig, ReadsEveryField) {
  auto u = parseUpstreamsConfig(R"(upstreams:
- url: https://keda-operator-metrics-apiserver.keda.svc:443
  api: external
  caFile: /ca/keda.crt
  timeout: 2s
- url: https://datadog.svc/prefix
  api: custom
  tokenFile: /dd/token
  certFile: /dd/tls.crt
  keyFile: /dd/tls.key
)",
                                "up.yaml", "/sa/token");
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].url, "https://keda-operator-metrics-apiserver.keda.svc:443");
  EXPECT_EQ(u[0].api, MetricsApi::External);
  EXPECT_EQ(u[0].tls.caFile, "/ca/keda.crt");
  EXPECT_EQ(u[0].tokenFile, "/sa/token") << "the pod's token by default";
  EXPECT_EQ(u[0].timeout, std::chrono::seconds(2));
  EXPECT_EQ(u[1].api, MetricsApi::Custom);
  EXPECT_EQ(u[1].tokenFile, "/dd/token");
  EXPECT_EQ(u[1].tls.certFile, "/dd/tls.crt");
  EXPECT_EQ(u[1].tls.keyFile, "/dd/tls.key");
  EXPECT_EQ(u[1].timeout, std::chrono::seconds(5));
}

TEST(UpstreamsConfig, EveryMistakeNamesTheFileLineAndField) {
  EXPECT_EQ(errorOf("upstreams:\n- api: external\n"), "up.yaml:2:3: upstreams[0].url: required");
  EXPECT_EQ(errorOf("upstreams:\n- url: http://a\n  api: external\n"),
            "up.yaml:2:8: upstreams[0].url: must be an https:// URL");
  EXPECT_EQ(errorOf("upstreams:\n- url: https://a\n  api: both\n"),
            "up.yaml:3:8: upstreams[0].api: must be external or custom");
  EXPECT_NE(errorOf("upstreams:\n- url: https://a\n  api: custom\n  caFlie: x\n")
                .find("up.yaml:4:3: upstreams[0].caFlie: unknown field"),
            std::string::npos);
  EXPECT_NE(errorOf("upstreams:\n- url: https://a\n  api: custom\n  certFile: x\n")
                .find("certFile and keyFile go together"),
            std::string::npos);
  EXPECT_NE(errorOf("upstreams:\n- url: https://a\n  api: custom\n  timeout: soon\n")
                .find("upstreams[0].timeout: expected a duration"),
            std::string::npos);
  EXPECT_NE(errorOf("upstreams: []\n").find("lists no upstream"), std::string::npos);
  EXPECT_NE(errorOf("upstream:\n- url: https://a\n").find("upstreams"), std::string::npos);
  EXPECT_NE(errorOf("upstreams: [\n").find("up.yaml:"), std::string::npos);
  EXPECT_NE(errorOf("upstreams:\n- url: [https://a]\n  api: custom\n").find("expected a string"),
            std::string::npos);
}

TEST(UpstreamsConfig, AFileThatCannotBeReadIsNamed) {
  try {
    adapter::loadUpstreamsConfig("/nonexistent/up.yaml", "");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/up.yaml"), std::string::npos);
  }
}

TEST(ListedMetrics, ReadsNamesAndScope) {
  auto l = adapter::parseListedMetrics(
      R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"external.metrics.k8s.io/v1beta1",
          "resources":[{"name":"s0-kafka-orders","namespaced":true,"kind":"ExternalMetricValueList"},
                       {"name":"nodes/temp","namespaced":false}]})",
      10);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "s0-kafka-orders");
  EXPECT_TRUE(l[0].namespaced);
  EXPECT_FALSE(l[1].namespaced);
  EXPECT_TRUE(
      adapter::parseListedMetrics(R"({"kind":"APIResourceList","resources":null})", 10).empty());
}

TEST(ListedMetrics, RefusesWhatIsNotOne) {
  for (const char* bad :
       {"", "[]", R"({"kind":"Status"})", R"({"kind":"APIResourceList","resources":{}})",
        R"({"kind":"APIResourceList","resources":[{"namespaced":true}]})",
        R"({"kind":"APIResourceList","resources":[1]})",
        R"({"kind":"APIResourceList","resources":[{"name":""}]})"}) {
    EXPECT_THROW(adapter::parseListedMetrics(bad, 10), adapter::DiscoveryFormatError) << bad;
  }
  EXPECT_THROW(adapter::parseListedMetrics(
                   R"({"kind":"APIResourceList","resources":[{"name":"a"},{"name":"b"}]})", 1),
               adapter::DiscoveryFormatError);
}
