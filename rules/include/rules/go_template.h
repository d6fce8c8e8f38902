// A Go text/template engine (the subset prometheus-adapter configs use, and
// the rest of the language users reasonably write), with configurable
// delimiters. Values print exactly as Go's fmt does (`map[k:v]`, `[a b]`).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rules::gotemplate {

class Value;
struct ValueList;
struct ValueMap;
struct ValueStruct;

// A dynamically typed template value: Go's nil, bool, int, float64, string,
// slice, map (sorted keys) and struct (ordered fields).
class Value {
 public:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string,
                               std::shared_ptr<const ValueList>, std::shared_ptr<const ValueMap>,
                               std::shared_ptr<const ValueStruct>>;

  Value() = default;
  Value(bool b) : v_(b) {}                       // NOLINT(google-explicit-constructor)
  Value(int v) : v_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(int64_t v) : v_(v) {}                    // NOLINT
  Value(double v) : v_(v) {}                     // NOLINT
  Value(std::string s) : v_(std::move(s)) {}     // NOLINT
  Value(const char* s) : v_(std::string(s)) {}   // NOLINT
  Value(std::shared_ptr<const ValueList> l) : v_(std::move(l)) {}    // NOLINT
  Value(std::shared_ptr<const ValueMap> m) : v_(std::move(m)) {}     // NOLINT
  Value(std::shared_ptr<const ValueStruct> s) : v_(std::move(s)) {}  // NOLINT

  static Value list(std::vector<Value> items);
  static Value stringList(const std::vector<std::string>& items);
  // A Go map[string]string: a missing key reads as "".
  static Value stringMap(const std::map<std::string, std::string>& items);

  const Storage& storage() const { return v_; }
  bool isNil() const { return std::holds_alternative<std::monostate>(v_); }
  // Go's truth: false, 0, nil, and empty strings, slices and maps are false.
  bool truthy() const;
  // Go's type name for error messages ("string", "int", "map[string]string").
  std::string typeName() const;

 private:
  Storage v_;
};

struct ValueList {
  std::vector<Value> items;
};
struct ValueMap {
  std::map<std::string, Value> items;
  Value missing;  // what a missing key yields (Go's zero value of the element type)
  std::string typeName = "map[string]interface {}";
};
struct ValueStruct {
  std::string typeName;
  std::vector<std::pair<std::string, Value>> fields;
};

// Prints a value as Go's fmt %v does.
std::string formatValue(const Value& v);

// A parse or execution error. Line and column are 1-based within the template
// text (0 when unknown).
class TemplateError : public std::runtime_error {
 public:
  TemplateError(int line, int column, const std::string& message);
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& detail() const { return detail_; }

 private:
  int line_;
  int column_;
  std::string detail_;
};

struct Node;

class Template {
 public:
  // Parses `text` with the given delimiters; throws TemplateError.
  static Template parse(std::string_view text, std::string_view leftDelim = "<<",
                        std::string_view rightDelim = ">>");
  // Renders with `dot` as the data; throws TemplateError on execution errors.
  std::string execute(const Value& dot) const;

 private:
  std::shared_ptr<const Node> root_;
};

}  // namespace rules::gotemplate
