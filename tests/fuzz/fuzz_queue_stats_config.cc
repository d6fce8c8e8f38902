// queue-stats config files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/duration.h"
#include "queue_stats/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  try {
    auto c = queue_stats::parseConfig(in, "fuzz.yaml");
    if (c.intervalMs < 1000) __builtin_trap();
  } catch (const queue_stats::ConfigError& e) {
    if (e.problems().empty()) __builtin_trap();
  }
  common::parseDurationMillis(in);
  return 0;
}
