// metrics-adapter's command-line flags, named as prometheus-adapter's and
// Kubernetes' where they exist.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "adapter/authentication_source.h"
#include "adapter/feed_source.h"
#include "adapter/prometheus_client.h"
#include "adapter/relister.h"
#include "apiservice/https_server.h"
#include "apiservice/logger.h"

namespace adapter {

// The cluster connection: kubeconfigs, client limits, discovery and
// delegated authentication and authorization (kube-apiserver's flags).
struct KubernetesOptions {
  std::string listerKubeconfig;          // objects and discovery; empty: in-cluster
  std::string authenticationKubeconfig;  // TokenReview and the authentication ConfigMap
  std::string authorizationKubeconfig;   // SubjectAccessReview
  double qps = 20;
  int burst = 40;
  std::chrono::milliseconds discoveryInterval{std::chrono::minutes(1)};
  AuthenticationFlags authentication;
  std::chrono::milliseconds tokenCacheTtl{std::chrono::seconds(10)};
  std::chrono::milliseconds authorizedCacheTtl{std::chrono::seconds(10)};
  std::chrono::milliseconds unauthorizedCacheTtl{std::chrono::seconds(10)};
  std::vector<std::string> alwaysAllowPaths{"/healthz", "/readyz", "/livez"};
};

struct AdapterOptions {
  std::string configFile;
  bool standalone = false;
  KubernetesOptions kubernetes;
  PrometheusClientOptions prometheus;
  RelistOptions relist;
  QueueStatsFeedOptions queueStats;
  apiservice::ServerOptions server;
  bool bindAddressSet = false;
  std::string tlsCertFile;
  std::string tlsPrivateKeyFile;
  std::string certDir = "apiserver.local.config/certificates";
  std::chrono::milliseconds shutdownGracePeriod{std::chrono::seconds(10)};
  int verbosity = 0;
  apiservice::Logger::Format logFormat = apiservice::Logger::Format::Text;
};

struct ParsedOptions {
  AdapterOptions options;
  bool helpRequested = false;
  std::string helpText;
};

// Throws std::invalid_argument with a message naming the bad flag.
ParsedOptions parseAdapterOptions(const std::vector<std::string>& args);

// Shared by the server and the rules CLI: the Prometheus flags.
std::chrono::milliseconds parseDurationFlag(const std::string& flag, const std::string& value);
// A Kubernetes string-slice flag: comma-separated, blanks trimmed.
std::vector<std::string> splitList(const std::string& value);

}  // namespace adapter
