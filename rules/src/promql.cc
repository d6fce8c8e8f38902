#include "rules/promql.h"

#include <cstdio>

namespace rules::promql {

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 when invalid.
size_t utf8Len(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}
}  // namespace

std::string quote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '"';
  for (size_t i = 0; i < value.size();) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      size_t n = utf8Len(value, i);
      if (n == 0) {
        char b[8];
        std::snprintf(b, sizeof b, "\\x%02x", c);
        out += b;
        ++i;
      } else {
        out.append(value.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

std::string quoteMeta(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string alternation(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += '|';
    out += quoteMeta(values[i]);
  }
  return out;
}

std::string labelEq(std::string_view n, std::string_view v) { return std::string(n) + "=" + quote(v); }
std::string labelNeq(std::string_view n, std::string_view v) { return std::string(n) + "!=" + quote(v); }
std::string labelMatches(std::string_view n, std::string_view r) { return std::string(n) + "=~" + quote(r); }
std::string labelNotMatches(std::string_view n, std::string_view r) {
  return std::string(n) + "!~" + quote(r);
}

}  // namespace rules::promql
