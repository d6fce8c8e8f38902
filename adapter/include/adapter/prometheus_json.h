// Prometheus HTTP API answers: the envelope, instant vectors and the
// streamed /series list. Pure parsing, no I/O (fuzzed on its own).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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

// Percent-encodes a form value (application/x-www-form-urlencoded).
std::string formEncode(std::string_view s);
// Parses a /api/v1/query answer; throws BackendError (exposed for fuzzing).
std::vector<Sample> parseQueryResponse(int httpStatus, std::string_view body);
// Parses a /api/v1/series answer from a reader, one series at a time.
void parseSeriesResponse(int httpStatus, const std::function<size_t(char*, size_t)>& read,
                         const SeriesVisitor& visit);

}  // namespace adapter
