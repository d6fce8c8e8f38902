// An upstream's discovery answer (an APIResourceList), reduced to the
// metric names it lists. Upstream answers are untrusted input: bounded,
// and fuzzed.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace adapter {

struct ListedMetric {
  std::string name;  // "s0-kafka-orders", "pods/http_requests"
  bool namespaced = true;
};

class DiscoveryFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws DiscoveryFormatError when `body` is not an APIResourceList or
// lists more than `maxNames` resources.
std::vector<ListedMetric> parseListedMetrics(std::string_view body, size_t maxNames);

}  // namespace adapter
