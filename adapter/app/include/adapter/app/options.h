// metrics-adapter's command-line flags, named as prometheus-adapter's and
// Kubernetes' where they exist.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapter/feed/feed_source.h"
#include "adapter/kube/kubernetes_options.h"
#include "adapter/prometheus/prometheus_client.h"
#include "adapter/prometheus/relister.h"
#include "adapter/upstream/upstream_options.h"
#include "apiservice/https_server.h"
#include "common/logger.h"

namespace adapter {

struct AdapterOptions {
  std::string configFile;
  bool standalone = false;
  KubernetesOptions kubernetes;
  PrometheusClientOptions prometheus;
  RelistOptions relist;
  QueueStatsFeedOptions queueStats;
  UpstreamsOptions upstreams;
  apiservice::ServerOptions server;
  bool bindAddressSet = false;
  std::string tlsCertFile;
  std::string tlsPrivateKeyFile;
  std::string certDir = "apiserver.local.config/certificates";
  std::chrono::milliseconds shutdownGracePeriod{std::chrono::seconds(10)};
  int verbosity = 0;
  common::Logger::Format logFormat = common::Logger::Format::Text;
};

struct ParsedOptions {
  AdapterOptions options;
  bool helpRequested = false;
  std::string helpText;
};

// The upstream flags, shared by the server and `rules explain`.
struct UpstreamFlags {
  std::vector<std::string> external, custom;
  std::string caFile, tokenFile, certFile, keyFile, timeout = "5s", configFile,
                                                    discoveryInterval = "30s", maxResponse = "64Mi";
  int maxInflight = 100;
};
void describeUpstreamFlags(boost::program_options::options_description& desc, UpstreamFlags& u);
// Throws std::invalid_argument naming the bad flag or config entry.
void applyUpstreamFlags(UpstreamsOptions& o, const UpstreamFlags& u);

// Throws std::invalid_argument with a message naming the bad flag.
ParsedOptions parseAdapterOptions(const std::vector<std::string>& args);

// Shared by the server and the rules CLI: the Prometheus flags.
std::chrono::milliseconds parseDurationFlag(const std::string& flag, const std::string& value);
// A --prometheus-header value, Key=Value (the key not empty).
std::pair<std::string, std::string> parseHeaderFlag(const std::string& value);
// A Kubernetes string-slice flag: comma-separated, blanks trimmed.
std::vector<std::string> splitList(const std::string& value);

}  // namespace adapter
