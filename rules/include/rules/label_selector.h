// Kubernetes label selectors (labels.Parse syntax and validation) and their
// translation into PromQL matchers.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rules {

class SelectorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Requirement {
  enum class Op {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan
  };
  std::string key;
  Op op = Op::Equals;
  std::vector<std::string> values;  // sorted and unique for In/NotIn
};

// Requirements sorted by key, as Kubernetes' parser returns them.
struct LabelSelector {
  std::vector<Requirement> requirements;
  bool empty() const { return requirements.empty(); }
};

// Parses a selector such as "app=web,tier in (a,b),!canary"; throws
// SelectorError naming the offending position.
LabelSelector parseLabelSelector(std::string_view text);

// PromQL matchers for the selector (in requirement order) and the values per
// label joined with "|" (the template's LabelValuesByName). Throws
// SelectorError for operators PromQL cannot express (> and <).
struct SelectorMatchers {
  std::vector<std::string> matchers;
  std::map<std::string, std::string> valuesByName;
};
SelectorMatchers selectorToMatchers(const LabelSelector& selector);

// Whether a set of labels satisfies the selector (used for object filtering).
bool selectorMatches(const LabelSelector& selector,
                     const std::map<std::string, std::string>& labels);

}  // namespace rules
