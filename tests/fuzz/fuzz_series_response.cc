// /api/v1/series answers, fed in uneven chunks as a network delivers them.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#include "adapter/prometheus/prometheus_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t pos = 0;
  std::function<size_t(char*, size_t)> read = [&](char* buf, size_t len) {
    size_t n = std::min<size_t>({len, 1 + (pos % 13), size - pos});
    std::memcpy(buf, data + pos, n);
    pos += n;
    return n;
  };
  try {
    adapter::parseSeriesResponse(200, read,
                                 [](std::string_view, const std::vector<std::string>&) {});
  } catch (const adapter::BackendError&) {
  }
  return 0;
}
