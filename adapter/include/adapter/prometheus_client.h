// The backend seam: the two Prometheus HTTP API calls the adapter makes.
// Anything Prometheus-compatible (Thanos, Mimir, Cortex, VictoriaMetrics).
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

#include "adapter/http_client.h"

namespace adapter {

// `unavailable` marks failures to reach the backend (connection, timeout,
// 5xx): the caller answers 503. Otherwise the backend rejected the query
// or answered garbage: 500.
class BackendError : public std::runtime_error {
 public:
  explicit BackendError(const std::string& msg, bool unavailable = false)
      : std::runtime_error(msg), unavailable_(unavailable) {}
  bool unavailable() const { return unavailable_; }

 private:
  bool unavailable_;
};

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;  // may be NaN or Inf: callers decide
  int64_t timestampMs = 0;
};

// Called once per series: its __name__ and its label names (with __name__).
using SeriesVisitor = std::function<void(std::string_view name, const std::vector<std::string>& labelNames)>;

class PrometheusApi {
 public:
  virtual ~PrometheusApi() = default;
  // GET /api/v1/series?match[]=...&start=...&end=...; throws BackendError.
  virtual void series(const std::string& match, int64_t startMs, int64_t endMs, const SeriesVisitor& visit) = 0;
  // /api/v1/query at `timeMs`; throws BackendError.
  virtual std::vector<Sample> query(const std::string& promql, int64_t timeMs) = 0;
};

struct PrometheusClientOptions {
  std::string url;
  std::string verb = "GET";  // GET or POST; GET switches to POST above maxGetUrlBytes
  size_t maxGetUrlBytes = 8192;
  std::chrono::milliseconds timeout{10000};
  TlsClientOptions tls;
  std::string tokenFile;  // re-read when it changes
  std::string basicAuthUsername;
  std::string basicAuthPasswordFile;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpPrometheusClient final : public PrometheusApi {
 public:
  explicit HttpPrometheusClient(PrometheusClientOptions opts);
  void series(const std::string& match, int64_t startMs, int64_t endMs, const SeriesVisitor& visit) override;
  std::vector<Sample> query(const std::string& promql, int64_t timeMs) override;

 private:
  ClientRequest request(const std::string& path, const std::string& form);
  std::string authorization();
  PrometheusClientOptions opts_;
  HttpClient http_;
  std::mutex authMu_;
  std::string tokenStamp_;
  std::string token_;
};

// Percent-encodes a form value (application/x-www-form-urlencoded).
std::string formEncode(std::string_view s);
// Parses a /api/v1/query answer; throws BackendError (exposed for fuzzing).
std::vector<Sample> parseQueryResponse(int httpStatus, std::string_view body);
// Parses a /api/v1/series answer from a reader, one series at a time.
void parseSeriesResponse(int httpStatus, const std::function<size_t(char*, size_t)>& read, const SeriesVisitor& visit);

}  // namespace adapter
