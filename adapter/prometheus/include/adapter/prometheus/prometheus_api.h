// The backend seam: the two Prometheus HTTP API calls the adapter makes,
// and what they return (prometheus_client.h speaks HTTP; tests use a fake).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/coro.h"
#include "common/request_context.h"

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
using SeriesVisitor =
    std::function<void(std::string_view name, const std::vector<std::string>& labelNames)>;

class PrometheusApi {
 public:
  virtual ~PrometheusApi() = default;
  // GET /api/v1/series?match[]=...&start=...&end=...; throws BackendError.
  // Blocking: only the relister's own thread calls it.
  virtual void series(const std::string& match, int64_t startMs, int64_t endMs,
                      const SeriesVisitor& visit) = 0;
  // /api/v1/query at `timeMs`, on the request path: bounded by `ctx`.
  // Throws BackendError, or common::RequestAborted when `ctx` ends first.
  virtual common::Task<std::vector<Sample>> query(const std::string& promql, int64_t timeMs,
                                                  const common::RequestContext& ctx) = 0;
};

}  // namespace adapter
