// RE2 with Go regexp semantics: unanchored matching and Regexp.Expand's
// `$name`, `${name}` and `$$` template expansion.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace rules {

class RegexError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class GoRegexp {
 public:
  // Compiles `pattern` (RE2 syntax, as Go's regexp); throws RegexError.
  explicit GoRegexp(const std::string& pattern);
  ~GoRegexp();
  GoRegexp(GoRegexp&&) noexcept;
  GoRegexp& operator=(GoRegexp&&) noexcept;

  const std::string& pattern() const { return pattern_; }
  int groupCount() const;
  // Unanchored search, as Go's MatchString.
  bool matches(std::string_view s) const;
  // Expands `templ` with the first match in `s`, as Go's
  // ExpandString(nil, templ, s, FindStringSubmatchIndex(s)); nullopt when
  // `s` does not match.
  std::optional<std::string> expand(std::string_view templ, std::string_view s) const;

 private:
  std::string pattern_;
  std::unique_ptr<re2::RE2> re_;
};

}  // namespace rules
