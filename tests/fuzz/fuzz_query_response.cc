// /api/v1/query answers from the backend, whole and streamed: both
// overloads share one parser, so they must agree on every input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "adapter/prometheus/prometheus_json.h"

namespace {

// The parse as one comparable string: samples, or the error and its flag.
template <class Body>
std::string outcome(const Body& body) {
  std::string out;
  try {
    for (const auto& s : adapter::parseQueryResponse(200, body)) {
      for (const auto& [k, v] : s.labels) out += k + "=" + v + ",";
      out += std::to_string(s.timestampMs) + " " + std::to_string(s.value) + ";";
    }
  } catch (const adapter::BackendError& e) {
    out = std::string("error ") + e.what() + (e.unavailable() ? " 503" : " 500");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  std::function<size_t(char*, size_t)> read = [&](char* buf, size_t len) {
    size_t n = std::min<size_t>({len, 3, body.size() - pos});  // split tokens too
    std::memcpy(buf, body.data() + pos, n);
    pos += n;
    return n;
  };
  if (outcome(body) != outcome(read)) std::abort();
  return 0;
}
