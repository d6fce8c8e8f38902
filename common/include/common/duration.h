// Durations as Prometheus and Kubernetes users write them ("30s", "1h30m",
// "500ms", "2d"): one parser for flags and config files in both binaries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace common {

// Milliseconds, or nullopt when `s` is not a duration. Units ms, s, m, h,
// d, w, y, each at most once and largest first, as Prometheus' model.Duration.
std::optional<int64_t> parseDurationMillis(const std::string& s);

}  // namespace common
