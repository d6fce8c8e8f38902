// The servers we forward to (--external-metrics-upstream,
// --custom-metrics-upstream, --upstreams-config) and the limits every
// forwarded call keeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "apiservice/metrics_forwarder.h"
#include "common/http_client.h"

namespace adapter {

// Where a pod's own service-account token is mounted.
inline constexpr const char* kServiceAccountTokenFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

struct UpstreamOptions {
  std::string url;  // https://host:port[/prefix]
  apiservice::MetricsApi api = apiservice::MetricsApi::External;
  common::TlsClientOptions tls;  // caFile (empty: the system's), certFile, keyFile
  std::string tokenFile;         // bearer token, re-read when it changes; empty: none
  std::chrono::milliseconds timeout{5000};
};

struct UpstreamsOptions {
  std::vector<UpstreamOptions> upstreams;  // tried in this order
  std::chrono::milliseconds discoveryInterval{30000};
  size_t maxInflight = 100;                 // calls in flight per upstream
  uint64_t maxResponseBytes = 64ull << 20;  // per answer, discovery included
};

// "external" or "custom".
std::string apiName(apiservice::MetricsApi api);

}  // namespace adapter
