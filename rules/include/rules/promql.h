// Safe construction of PromQL label matchers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rules::promql {

// A PromQL string literal for `value`, escaped as Go's %q so no value can
// break out of its quotes.
std::string quote(std::string_view value);
// Escapes RE2 metacharacters, as Go's regexp.QuoteMeta.
std::string quoteMeta(std::string_view value);
// A regex alternation matching exactly the given literal values.
std::string alternation(const std::vector<std::string>& values);
// The same set as a prefix-factored regex: pods of one ReplicaSet become
// web-7d9f8\-(a1|b2|...) instead of repeating the prefix per name. Matches
// exactly the given values (PromQL anchors regexes).
std::string factoredAlternation(std::vector<std::string> values);
// The alternation for object names: as given while short (the form
// prometheus-adapter users know), factored once it grows past
// kFactorAboveBytes.
inline constexpr size_t kFactorAboveBytes = 512;
std::string namesRegex(const std::vector<std::string>& names);

std::string labelEq(std::string_view name, std::string_view value);
std::string labelNeq(std::string_view name, std::string_view value);
std::string labelMatches(std::string_view name, std::string_view regex);
std::string labelNotMatches(std::string_view name, std::string_view regex);

}  // namespace rules::promql
