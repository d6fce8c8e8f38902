#include "rules/promql.h"

#include "rules/go_quote.h"

#include <algorithm>

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

namespace {
// `values[lo, hi)` are sorted, unique, and share their first `depth` bytes.
void factor(const std::vector<std::string>& values, size_t lo, size_t hi, size_t depth,
            std::string& out) {
  // The longest prefix they all share (first and last bound it when sorted).
  const std::string& first = values[lo];
  const std::string& last = values[hi - 1];
  size_t common = depth;
  while (common < first.size() && common < last.size() && first[common] == last[common]) ++common;
  out += quoteMeta(std::string_view(first).substr(depth, common - depth));
  if (hi - lo == 1) {
    out += quoteMeta(std::string_view(first).substr(common));
    return;
  }
  // Only the first can end at `common` (the rest are longer, being unique).
  bool optional = first.size() == common;
  size_t i = optional ? lo + 1 : lo;
  size_t groups = 0;
  std::string inner;
  while (i < hi) {
    size_t j = i + 1;
    while (j < hi && values[j][common] == values[i][common]) ++j;
    if (groups++) inner += '|';
    factor(values, i, j, common, inner);
    i = j;
  }
  if (groups == 1 && !optional) {
    out += inner;
  } else {
    out += '(' + inner + ')';
    if (optional) out += '?';
  }
}
}  // namespace

std::string factoredAlternation(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  if (values.empty()) return "";
  std::string out;
  // At the top level an alternation needs no group of its own.
  if (values.front().empty() || values.size() == 1) {
    factor(values, 0, values.size(), 0, out);
    return out;
  }
  size_t i = 0;
  while (i < values.size()) {
    size_t j = i + 1;
    while (j < values.size() && values[j][0] == values[i][0]) ++j;
    if (i) out += '|';
    factor(values, i, j, 0, out);
    i = j;
  }
  return out;
}

std::string namesRegex(const std::vector<std::string>& names) {
  std::string plain = alternation(names);
  if (plain.size() <= kFactorAboveBytes) return plain;
  return factoredAlternation(names);
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
