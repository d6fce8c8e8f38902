// /api/v1/query answers from the backend.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapter/prometheus/prometheus_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    adapter::parseQueryResponse(200, std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const adapter::BackendError&) {
  }
  return 0;
}
