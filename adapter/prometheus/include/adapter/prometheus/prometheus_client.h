// The backend client over HTTP(S): anything Prometheus-compatible (Thanos,
// Mimir, Cortex, VictoriaMetrics), with its credentials re-read when they
// change.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/prometheus/prometheus_api.h"
#include "adapter/prometheus/prometheus_json.h"
#include "common/async_http_client.h"
#include "common/async_semaphore.h"
#include "common/http_client.h"
#include "common/secret_file.h"

namespace adapter {

struct PrometheusClientOptions {
  std::string url;
  std::string verb = "GET";  // GET or POST; GET switches to POST above maxGetUrlBytes
  size_t maxGetUrlBytes = 8192;
  std::chrono::milliseconds timeout{10000};
  size_t maxInflight = 100;                 // --prometheus-max-inflight; 0: no limit
  uint64_t maxResponseBytes = 64ull << 20;  // --prometheus-max-response-bytes; 0: no limit
  common::TlsClientOptions tls;
  std::string tokenFile;  // re-read when it changes
  std::string basicAuthUsername;
  std::string basicAuthPasswordFile;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpPrometheusClient final : public PrometheusApi {
 public:
  explicit HttpPrometheusClient(PrometheusClientOptions opts);
  void series(const std::string& match, int64_t startMs, int64_t endMs,
              const SeriesVisitor& visit) override;
  common::Task<std::vector<Sample>> query(const std::string& promql, int64_t timeMs,
                                          const common::RequestContext& ctx) override;

 private:
  common::ClientRequest request(const std::string& path, const std::string& form);
  std::string authorization();
  PrometheusClientOptions opts_;
  common::HttpClient http_;        // series discovery (the relister's thread)
  common::AsyncHttpClient async_;  // queries (the request path)
  common::AsyncSemaphore inflight_;
  // The token or basic auth password file; null without one.
  std::unique_ptr<common::SecretFile> secret_;
};

}  // namespace adapter
