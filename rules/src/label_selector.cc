#include "rules/label_selector.h"

#include <algorithm>
#include <set>

#include "rules/promql.h"

namespace rules {

namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A Kubernetes "qualified name" part or label value: alphanumerics at both
// ends, '-', '_' and '.' inside, at most 63 characters.
std::string checkNamePart(std::string_view s, const char* what) {
  if (s.empty()) return std::string(what) + " must not be empty";
  if (s.size() > 63) return std::string(what) + " must be no more than 63 characters";
  if (!isAlnum(s.front()) || !isAlnum(s.back())) {
    return std::string(what) + " must start and end with an alphanumeric character";
  }
  for (char c : s)
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return std::string(what) + " may contain only alphanumerics, '-', '_' and '.'";
    }
  return "";
}

std::string checkKey(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return checkNamePart(key, "name part");
  std::string_view prefix = key.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253)
    return "prefix part must be a DNS subdomain of 1-253 characters";
  for (char c : prefix)
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' && c != '.') {
      return "prefix part must be a lowercase DNS subdomain";
    }
  return checkNamePart(key.substr(slash + 1), "name part");
}

std::string checkValue(std::string_view v) {
  if (v.empty()) return "";
  return checkNamePart(v, "value");
}

enum class T { Ident, Comma, Eq, DoubleEq, NotEq, Bang, LParen, RParen, Gt, Lt, End };
struct Tok {
  T kind;
  std::string text;
  size_t pos;
};

std::vector<Tok> lex(std::string_view s) {
  std::vector<Tok> out;
  size_t i = 0;
  auto special = [](char c) {
    return c == ',' || c == '=' || c == '!' || c == '(' || c == ')' || c == '<' || c == '>' ||
           c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    size_t start = i;
    if (c == ',')
      out.push_back({T::Comma, ",", i++});
    else if (c == '(')
      out.push_back({T::LParen, "(", i++});
    else if (c == ')')
      out.push_back({T::RParen, ")", i++});
    else if (c == '>')
      out.push_back({T::Gt, ">", i++});
    else if (c == '<')
      out.push_back({T::Lt, "<", i++});
    else if (c == '=') {
      if (i + 1 < s.size() && s[i + 1] == '=') {
        out.push_back({T::DoubleEq, "==", i});
        i += 2;
      } else {
        out.push_back({T::Eq, "=", i++});
      }
    } else if (c == '!') {
      if (i + 1 < s.size() && s[i + 1] == '=') {
        out.push_back({T::NotEq, "!=", i});
        i += 2;
      } else {
        out.push_back({T::Bang, "!", i++});
      }
    } else {
      while (i < s.size() && !special(s[i])) ++i;
      out.push_back({T::Ident, std::string(s.substr(start, i - start)), start});
    }
  }
  out.push_back({T::End, "", s.size()});
  return out;
}

[[noreturn]] void fail(size_t pos, const std::string& msg) {
  throw SelectorError("invalid label selector at position " + std::to_string(pos + 1) + ": " + msg);
}

// Reads requirements from the tokens, one at a time, as
// k8s.io/apimachinery/pkg/labels' parser does.
class RequirementParser {
 public:
  explicit RequirementParser(const std::vector<Tok>& toks) : toks_(toks) {}

  bool atEnd() const { return toks_[i_].kind == T::End; }

  Requirement requirement() {
    Requirement r;
    bool negated = toks_[i_].kind == T::Bang;
    if (negated) ++i_;
    if (cur().kind != T::Ident)
      fail(cur().pos, "expected a label key, found \"" + cur().text + "\"");
    r.key = cur().text;
    if (auto err = checkKey(r.key); !err.empty()) fail(cur().pos, "key \"" + r.key + "\": " + err);
    size_t keyPos = cur().pos;
    ++i_;
    if (negated) {
      r.op = Requirement::Op::DoesNotExist;
    } else if (cur().kind == T::Comma || cur().kind == T::End) {
      r.op = Requirement::Op::Exists;
    } else {
      operatorAndValues(r, keyPos);
    }
    return r;
  }

  // The ',' between requirements; false at the end.
  bool separator() {
    if (atEnd()) return false;
    if (cur().kind != T::Comma)
      fail(cur().pos, "expected ',' between requirements, found \"" + cur().text + "\"");
    ++i_;
    return true;
  }

 private:
  const Tok& cur() const { return toks_[i_]; }

  void operatorAndValues(Requirement& r, size_t keyPos) {
    const Tok& op = toks_[i_++];
    if (op.kind == T::Eq || op.kind == T::DoubleEq || op.kind == T::NotEq) {
      equality(r, op);
    } else if (op.kind == T::Gt || op.kind == T::Lt) {
      ordering(r, op);
    } else if (op.kind == T::Ident && (op.text == "in" || op.text == "notin")) {
      set(r, op, keyPos);
    } else {
      fail(op.pos,
           "expected an operator (=, ==, !=, in, notin, exists), found \"" + op.text + "\"");
    }
  }

  void equality(Requirement& r, const Tok& op) {
    r.op = op.kind == T::Eq         ? Requirement::Op::Equals
           : op.kind == T::DoubleEq ? Requirement::Op::DoubleEquals
                                    : Requirement::Op::NotEquals;
    std::string v;
    if (cur().kind == T::Ident)
      v = toks_[i_++].text;
    else if (cur().kind != T::Comma && cur().kind != T::End)
      fail(cur().pos, "expected a value after " + op.text + ", found \"" + cur().text + "\"");
    if (auto err = checkValue(v); !err.empty()) fail(op.pos, "value \"" + v + "\": " + err);
    r.values.push_back(v);
  }

  void ordering(Requirement& r, const Tok& op) {
    r.op = op.kind == T::Gt ? Requirement::Op::GreaterThan : Requirement::Op::LessThan;
    if (cur().kind != T::Ident) fail(cur().pos, "expected an integer after " + op.text);
    const std::string& v = cur().text;
    if (v.find_first_not_of("0123456789") != std::string::npos || (v[0] == '-' && v.size() == 1))
      fail(cur().pos, "for '" + op.text + "' the value must be an integer");
    r.values.push_back(v);
    ++i_;
  }

  void set(Requirement& r, const Tok& op, size_t keyPos) {
    r.op = op.text == "in" ? Requirement::Op::In : Requirement::Op::NotIn;
    if (cur().kind != T::LParen) fail(cur().pos, "expected '(' after " + op.text);
    ++i_;
    if (cur().kind == T::RParen) fail(keyPos, "for 'in' and 'notin' the value set can't be empty");
    std::set<std::string> vals;
    while (true) {
      std::string v;
      size_t vpos = cur().pos;
      if (cur().kind == T::Ident) v = toks_[i_++].text;
      if (auto err = checkValue(v); !err.empty()) fail(vpos, "value \"" + v + "\": " + err);
      vals.insert(v);
      if (cur().kind == T::Comma) {
        ++i_;
        continue;
      }
      if (cur().kind == T::RParen) {
        ++i_;
        break;
      }
      fail(cur().pos, "expected ',' or ')' in value set, found \"" + cur().text + "\"");
    }
    r.values.assign(vals.begin(), vals.end());
  }

  const std::vector<Tok>& toks_;
  size_t i_ = 0;
};

}  // namespace

LabelSelector parseLabelSelector(std::string_view text) {
  LabelSelector sel;
  auto toks = lex(text);
  RequirementParser p(toks);
  if (p.atEnd()) return sel;
  do {
    sel.requirements.push_back(p.requirement());
  } while (p.separator());
  std::stable_sort(sel.requirements.begin(), sel.requirements.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return sel;
}

SelectorMatchers selectorToMatchers(const LabelSelector& selector) {
  SelectorMatchers out;
  for (const auto& r : selector.requirements) {
    std::string joined;
    for (size_t k = 0; k < r.values.size(); ++k) joined += (k ? "|" : "") + r.values[k];
    switch (r.op) {
      case Requirement::Op::Equals:
      case Requirement::Op::DoubleEquals:
        out.matchers.push_back(promql::labelEq(r.key, r.values[0]));
        break;
      case Requirement::Op::NotEquals:
        out.matchers.push_back(promql::labelNeq(r.key, r.values[0]));
        break;
      case Requirement::Op::In:
        out.matchers.push_back(promql::labelMatches(r.key, promql::alternation(r.values)));
        break;
      case Requirement::Op::NotIn:
        out.matchers.push_back(promql::labelNotMatches(r.key, promql::alternation(r.values)));
        break;
      case Requirement::Op::Exists:
        out.matchers.push_back(promql::labelNeq(r.key, ""));
        break;
      case Requirement::Op::DoesNotExist:
        out.matchers.push_back(promql::labelEq(r.key, ""));
        break;
      case Requirement::Op::GreaterThan:
      case Requirement::Op::LessThan:
        throw SelectorError("label selector operator '" +
                            std::string(r.op == Requirement::Op::GreaterThan ? ">" : "<") +
                            "' on \"" + r.key +
                            "\" is not supported: PromQL label matchers cannot compare numbers");
    }
    out.valuesByName[r.key] = joined;
  }
  return out;
}

bool selectorMatches(const LabelSelector& selector,
                     const std::map<std::string, std::string>& labels) {
  for (const auto& r : selector.requirements) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    switch (r.op) {
      case Requirement::Op::Equals:
      case Requirement::Op::DoubleEquals:
        if (!has || it->second != r.values[0]) return false;
        break;
      case Requirement::Op::NotEquals:
        if (has && it->second == r.values[0]) return false;
        break;
      case Requirement::Op::In:
        if (!has || !std::binary_search(r.values.begin(), r.values.end(), it->second)) return false;
        break;
      case Requirement::Op::NotIn:
        if (has && std::binary_search(r.values.begin(), r.values.end(), it->second)) return false;
        break;
      case Requirement::Op::Exists:
        if (!has) return false;
        break;
      case Requirement::Op::DoesNotExist:
        if (has) return false;
        break;
      case Requirement::Op::GreaterThan:
      case Requirement::Op::LessThan: {
        if (!has) return false;
        try {
          long long lv = std::stoll(it->second), rv = std::stoll(r.values[0]);
          if (r.op == Requirement::Op::GreaterThan ? !(lv > rv) : !(lv < rv)) return false;
        } catch (const std::exception&) {
          return false;
        }
        break;
      }
    }
  }
  return true;
}

}  // namespace rules
