#include "apiservice/quantity.h"

#include <cmath>
#include <cstdio>

namespace apiservice {

namespace {
// Strips whole groups of three trailing zeros from a decimal integer string
// into an SI suffix.
std::string withDecimalSuffix(std::string digits) {
  static const char* const suffixes[] = {"", "k", "M", "G", "T", "P", "E"};
  size_t idx = 0;
  while (idx < 6 && digits.size() > 3 && digits.compare(digits.size() - 3, 3, "000") == 0) {
    digits.resize(digits.size() - 3);
    ++idx;
  }
  return digits + suffixes[idx];
}
}  // namespace

std::string decimalQuantity(double value) {
  if (value == 0 || !std::isfinite(value)) return "0";
  std::string sign = value < 0 ? "-" : "";
  double a = std::fabs(value);
  // Up to ~9.2e15 the milli-value fits in int64 exactly enough.
  if (a * 1000.0 < 9.0e18) {
    long long milli = std::llround(a * 1000.0);
    if (milli == 0) return "0";
    if (milli % 1000 != 0) return sign + std::to_string(milli) + "m";
    return sign + withDecimalSuffix(std::to_string(milli / 1000));
  }
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.0f", std::round(a));
  return sign + withDecimalSuffix(buf);
}

std::string binaryQuantity(double bytes) {
  if (!std::isfinite(bytes) || bytes <= 0) return "0";
  auto v = static_cast<long long>(std::llround(bytes));
  static const char* const suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  size_t idx = 0;
  while (idx < 6 && v != 0 && v % 1024 == 0) {
    v /= 1024;
    ++idx;
  }
  // Kubernetes prefers a decimal form when the binary one is not exact.
  if (idx == 0) return decimalQuantity(static_cast<double>(v));
  return std::to_string(v) + suffixes[idx];
}

}  // namespace apiservice
