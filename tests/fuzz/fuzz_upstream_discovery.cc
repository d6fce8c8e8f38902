// An upstream's discovery answer (APIResourceList), read in the background
// from a server we do not control.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapter/upstream/listed_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    auto listed = adapter::parseListedMetrics(in, 64);
    if (listed.size() > 64) __builtin_trap();
    for (const auto& m : listed)
      if (m.name.empty()) __builtin_trap();
  } catch (const adapter::DiscoveryFormatError&) {
  }
  return 0;
}
