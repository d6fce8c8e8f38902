// The backend over HTTPS: a real Prometheus serving TLS, verified with
// --prometheus-ca-file; without the CA the adapter must refuse it.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "test_support.h"

using namespace testsupport;
using namespace std::chrono_literals;

TEST(BackendTls, VerifiesPrometheusCertificate) {
  TempDir dir;
  PrometheusServer prom(dataDir() + "/integration/series.txt", /*tls=*/true);
  const std::string config = "--config=" + dataDir() + "/integration/config.yaml";

  AdapterProcess trusted({"--standalone", config, "--prometheus-url=" + prom.url(),
                          "--prometheus-ca-file=" + prom.caFile(), "--log-format=json"},
                         dir, "trusted");
  ASSERT_TRUE(trusted.waitReady(30s)) << trusted.process().log();
  auto r = httpsGet(trusted.port(),
                    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns1/pods/p1/test_gauge");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["items"][0]["value"], "1500m");
  // --log-format=json: every line is one JSON object.
  std::istringstream lines(trusted.process().log());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    ++n;
  }
  EXPECT_GE(n, 3);

  AdapterProcess untrusted({"--standalone", config, "--prometheus-url=" + prom.url()}, dir,
                           "untrusted");
  EXPECT_TRUE(untrusted.process().waitForLog("certificate verify failed", 15s))
      << untrusted.process().log();
  EXPECT_EQ(httpsGet(untrusted.port(), "/readyz").status, 503);
}
