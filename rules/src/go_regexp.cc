#include "rules/go_regexp.h"

#include <re2/re2.h>

#include <map>
#include <vector>

namespace rules {

GoRegexp::GoRegexp(const std::string& pattern) : pattern_(pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  re_ = std::make_unique<re2::RE2>(pattern, opts);
  if (!re_->ok()) throw RegexError("invalid regular expression " + pattern + ": " + re_->error());
}
GoRegexp::~GoRegexp() = default;
GoRegexp::GoRegexp(GoRegexp&&) noexcept = default;
GoRegexp& GoRegexp::operator=(GoRegexp&&) noexcept = default;

int GoRegexp::groupCount() const { return re_->NumberOfCapturingGroups(); }

bool GoRegexp::matches(std::string_view s) const { return RE2::PartialMatch(s, *re_); }

namespace {
bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
}  // namespace

std::optional<std::string> GoRegexp::expand(std::string_view templ, std::string_view s) const {
  const int n = groupCount() + 1;
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n));
  if (!re_->Match(s, 0, s.size(), RE2::UNANCHORED, groups.data(), n)) return std::nullopt;
  const auto& named = re_->NamedCapturingGroups();
  auto group = [&](std::string_view name) -> std::string {
    // A name made of digits is a group index; otherwise a named group.
    bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos;
    if (numeric) {
      if (name.size() > 9) return "";
      size_t idx = std::stoul(std::string(name));
      if (idx >= groups.size() || groups[idx].data() == nullptr) return "";
      return std::string(groups[idx].data(), groups[idx].size());
    }
    auto it = named.find(std::string(name));
    if (it == named.end() || groups[static_cast<size_t>(it->second)].data() == nullptr) return "";
    const auto& g = groups[static_cast<size_t>(it->second)];
    return std::string(g.data(), g.size());
  };
  std::string out;
  for (size_t i = 0; i < templ.size();) {
    char c = templ[i];
    if (c != '$') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < templ.size() && templ[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    // Go: "${name}" or "$name" where name is the longest run of [A-Za-z0-9_].
    std::string_view name;
    size_t next = i + 1;
    if (next < templ.size() && templ[next] == '{') {
      size_t close = templ.find('}', next + 1);
      size_t j = next + 1;
      while (j < templ.size() && isNameChar(templ[j])) ++j;
      if (close == std::string_view::npos || j != close || j == next + 1) {
        out += '$';  // malformed: Go copies the '$' and moves on
        ++i;
        continue;
      }
      name = templ.substr(next + 1, close - next - 1);
      next = close + 1;
    } else {
      size_t j = next;
      while (j < templ.size() && isNameChar(templ[j])) ++j;
      if (j == next) {
        out += '$';
        ++i;
        continue;
      }
      name = templ.substr(next, j - next);
      next = j;
    }
    out += group(name);
    i = next;
  }
  return out;
}

}  // namespace rules
