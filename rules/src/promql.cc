#include "rules/promql.h"

#include "rules/go_quote.h"


namespace rules::promql {

std::string quote(std::string_view value) { return goQuote(value); }

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

std::string labelEq(std::string_view n, std::string_view v) {
  return std::string(n) + "=" + quote(v);
}
std::string labelNeq(std::string_view n, std::string_view v) {
  return std::string(n) + "!=" + quote(v);
}
std::string labelMatches(std::string_view n, std::string_view r) {
  return std::string(n) + "=~" + quote(r);
}
std::string labelNotMatches(std::string_view n, std::string_view r) {
  return std::string(n) + "!~" + quote(r);
}

}  // namespace rules::promql
