// kubeconfig files and the in-cluster service account.
#include "adapter/kube/kube_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

using namespace adapter;

namespace {
const char* kConfig = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: prod
  cluster: {server: "https://prod:6443", certificate-authority: ca.crt}
- name: dev
  cluster:
    server: https://127.0.0.1:8443
    certificate-authority-data: LS0tLS1CRUdJTg==
    tls-server-name: kubernetes
users:
- name: dev-user
  user: {client-certificate: /abs/client.crt, client-key: keys/client.key}
- name: token-user
  user: {tokenFile: token}
contexts:
- name: dev
  context: {cluster: dev, user: dev-user}
- name: prod
  context: {cluster: prod, user: token-user}
)";

std::string error(const std::string& text, const std::string& ctx = "") {
  try {
    parseKubeconfig(text, "/etc/k/config", ctx);
  } catch (const KubeConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(KubeConfig, CurrentAndNamedContexts) {
  KubeConnection dev = parseKubeconfig(kConfig, "/etc/k/config");
  EXPECT_EQ(dev.server, "https://127.0.0.1:8443");
  EXPECT_EQ(dev.tls.caPem, "-----BEGIN");
  EXPECT_EQ(dev.tls.serverName, "kubernetes");
  EXPECT_EQ(dev.tls.certFile, "/abs/client.crt");
  EXPECT_EQ(dev.tls.keyFile, "/etc/k/keys/client.key");  // relative to the kubeconfig
  EXPECT_EQ(dev.source, "/etc/k/config");
  KubeConnection prod = parseKubeconfig(kConfig, "/etc/k/config", "prod");
  EXPECT_EQ(prod.server, "https://prod:6443");
  EXPECT_EQ(prod.tls.caFile, "/etc/k/ca.crt");
  EXPECT_EQ(prod.tokenFile, "/etc/k/token");
}

TEST(KubeConfig, ProblemsAreNamed) {
  EXPECT_NE(error(kConfig, "staging").find("no context named \"staging\""), std::string::npos);
  EXPECT_NE(error("clusters: [\n").find("/etc/k/config:"), std::string::npos);
  EXPECT_NE(error("kind: Config\n").find("no current-context"), std::string::npos);
  EXPECT_NE(error(R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://a"}}]
users: [{name: u, user: {exec: {command: aws}}}]
)")
                .find("exec or auth-provider plugin"),
            std::string::npos);
  EXPECT_NE(error(R"(current-context: x
contexts: [{name: x, context: {cluster: c}}]
clusters: [{name: c, cluster: {certificate-authority-data: "!!!"}}]
)")
                .find("has no server"),
            std::string::npos);
}

TEST(KubeConfig, InCluster) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "ma-sa-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "t0ken\n";
  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_THROW(inClusterConnection(dir.string()), KubeConfigError);
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  KubeConnection c = inClusterConnection(dir.string());
  EXPECT_EQ(c.server, "https://[fd00::1]:443");
  EXPECT_EQ(c.tokenFile, (dir / "token").string());
  EXPECT_EQ(c.tls.caFile, (dir / "ca.crt").string());
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  std::filesystem::remove_all(dir);
}
