#include "common/duration.h"

#include <cctype>
#include <utility>
#include <vector>

namespace common {

std::optional<int64_t> parseDurationMillis(const std::string& s) {
  if (s.empty()) return std::nullopt;
  static const std::vector<std::pair<std::string, int64_t>> units = {
      {"ms", 1},       {"s", 1000},      {"m", 60000},      {"h", 3600000},
      {"d", 86400000}, {"w", 604800000}, {"y", 31536000000}};
  int64_t total = 0;
  size_t i = 0;
  size_t lastUnit = 0;  // units must appear in decreasing order, once each
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start || i - start > 12) return std::nullopt;
    int64_t n = std::stoll(s.substr(start, i - start));
    size_t u = units.size();
    for (size_t k = 0; k < units.size(); ++k) {
      const auto& name = units[k].first;
      if (s.compare(i, name.size(), name) == 0 && !(name == "m" && s.compare(i, 2, "ms") == 0)) {
        u = k;
        break;
      }
    }
    if (u == units.size()) return std::nullopt;
    size_t rank = u + 1;                                         // units are listed smallest first
    if (lastUnit != 0 && rank >= lastUnit) return std::nullopt;  // "1m1h" is invalid
    lastUnit = rank;
    i += units[u].first.size();
    total += n * units[u].second;
  }
  return total;
}

}  // namespace common
