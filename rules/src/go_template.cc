#include "rules/go_template.h"

#include "rules/go_quote.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>

namespace rules::gotemplate {

using rules::goQuote;

// ---------------------------------------------------------------- values

Value Value::list(std::vector<Value> items) {
  return Value(std::make_shared<const ValueList>(ValueList{std::move(items)}));
}

Value Value::stringList(const std::vector<std::string>& items) {
  std::vector<Value> v(items.begin(), items.end());
  return list(std::move(v));
}

Value Value::stringMap(const std::map<std::string, std::string>& items) {
  auto m = std::make_shared<ValueMap>();
  for (const auto& [k, v] : items) m->items.emplace(k, Value(v));
  m->missing = Value(std::string());
  m->typeName = "map[string]string";
  return Value(std::shared_ptr<const ValueMap>(std::move(m)));
}

bool Value::truthy() const {
  return std::visit(
      [](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return false;
        else if constexpr (std::is_same_v<T, bool>)
          return x;
        else if constexpr (std::is_same_v<T, int64_t>)
          return x != 0;
        else if constexpr (std::is_same_v<T, double>)
          return x != 0.0;
        else if constexpr (std::is_same_v<T, std::string>)
          return !x.empty();
        else if constexpr (std::is_same_v<T, std::shared_ptr<const ValueList>>)
          return !x->items.empty();
        else if constexpr (std::is_same_v<T, std::shared_ptr<const ValueMap>>)
          return !x->items.empty();
        else
          return true;
      },
      v_);
}

std::string Value::typeName() const {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "nil";
        else if constexpr (std::is_same_v<T, bool>)
          return "bool";
        else if constexpr (std::is_same_v<T, int64_t>)
          return "int";
        else if constexpr (std::is_same_v<T, double>)
          return "float64";
        else if constexpr (std::is_same_v<T, std::string>)
          return "string";
        else if constexpr (std::is_same_v<T, std::shared_ptr<const ValueList>>)
          return "[]interface {}";
        else if constexpr (std::is_same_v<T, std::shared_ptr<const ValueMap>>)
          return x->typeName;
        else
          return x->typeName;
      },
      v_);
}

namespace {

// Go's strconv.FormatFloat(f, 'g', -1, 64), which %v and %g use: shortest
// round-trip digits, exponent form when exp < -4 || exp >= 6.
std::string formatFloatShortest(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  char buf[64];
  // Shortest representation: try increasing precision until it round-trips.
  int prec = 1;
  for (; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
    if (std::strtod(buf, nullptr) == f) break;
  }
  std::string e(buf);  // d.ddddde±XX
  auto epos = e.find('e');
  std::string mant = e.substr(0, epos);
  int exp = std::stoi(e.substr(epos + 1));
  bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int eprec = 6;
  std::string out;
  if (exp < -4 || exp >= eprec) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else {
    auto intLen = static_cast<size_t>(exp + 1);
    if (digits.size() <= intLen) {
      out = digits + std::string(intLen - digits.size(), '0');
    } else {
      out = digits.substr(0, intLen) + "." + digits.substr(intLen);
    }
  }
  return neg ? "-" + out : out;
}

}  // namespace

std::string formatValue(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "<nil>";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, int64_t>)
          return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>)
          return formatFloatShortest(x);
        else if constexpr (std::is_same_v<T, std::string>)
          return x;
        else if constexpr (std::is_same_v<T, std::shared_ptr<const ValueList>>) {
          std::string out = "[";
          for (size_t i = 0; i < x->items.size(); ++i) {
            if (i) out += ' ';
            out += formatValue(x->items[i]);
          }
          return out + "]";
        } else if constexpr (std::is_same_v<T, std::shared_ptr<const ValueMap>>) {
          std::string out = "map[";
          bool first = true;
          for (const auto& [k, val] : x->items) {
            if (!first) out += ' ';
            first = false;
            out += k + ":" + formatValue(val);
          }
          return out + "]";
        } else {
          std::string out = "{";
          for (size_t i = 0; i < x->fields.size(); ++i) {
            if (i) out += ' ';
            out += formatValue(x->fields[i].second);
          }
          return out + "}";
        }
      },
      v.storage());
}

TemplateError::TemplateError(int line, int column, const std::string& message)
    : std::runtime_error(line > 0
                             ? std::to_string(line) + ":" + std::to_string(column) + ": " + message
                             : message),
      line_(line),
      column_(column),
      detail_(message) {}

// ---------------------------------------------------------------- lexer

namespace {

enum class Tok {
  Text,
  LeftDelim,
  RightDelim,
  Identifier,
  Keyword,
  Field,
  Dot,
  Variable,
  String,
  Number,
  Char,
  Bool,
  Nil,
  LeftParen,
  RightParen,
  Pipe,
  Declare,
  Assign,
  Comma,
  Eof,
};

struct Pos {
  int line = 0;
  int col = 0;
};

struct Token {
  Tok kind;
  std::string text;
  Pos pos;
  bool spaceBefore = false;
};

bool isSpaceChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

const std::set<std::string, std::less<>> kKeywords = {
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"};

class Lexer {
 public:
  Lexer(std::string_view in, std::string_view l, std::string_view r) : in_(in), ld_(l), rd_(r) {}

  std::vector<Token> run() {
    while (i_ < in_.size()) lexText();
    emit(Tok::Eof, "", i_);
    return std::move(out_);
  }

 private:
  Pos posOf(size_t at) const {
    Pos p{1, 1};
    for (size_t k = 0; k < at && k < in_.size(); ++k) {
      if (in_[k] == '\n') {
        ++p.line;
        p.col = 1;
      } else {
        ++p.col;
      }
    }
    return p;
  }
  [[noreturn]] void fail(size_t at, const std::string& msg) const {
    Pos p = posOf(at);
    throw TemplateError(p.line, p.col, msg);
  }
  void emit(Tok k, std::string text, size_t at, bool space = false) {
    out_.push_back(Token{k, std::move(text), posOf(at), space});
  }

  void lexText() {
    size_t start = i_;
    size_t next = in_.find(ld_, i_);
    if (next == std::string_view::npos) {
      if (start < in_.size()) emit(Tok::Text, std::string(in_.substr(start)), start);
      i_ = in_.size();
      return;
    }
    std::string_view text = in_.substr(start, next - start);
    size_t after = next + ld_.size();
    bool trimLeft = after + 1 < in_.size() && in_[after] == '-' && isSpaceChar(in_[after + 1]);
    if (trimLeft) {
      while (!text.empty() && isSpaceChar(text.back())) text.remove_suffix(1);
    }
    if (!text.empty()) emit(Tok::Text, std::string(text), start);
    i_ = after + (trimLeft ? 2 : 0);
    // Comments: <</* ... */>>
    size_t j = i_;
    if (in_.substr(j, 2) == "/*") {
      size_t end = in_.find("*/", j + 2);
      if (end == std::string_view::npos) fail(next, "unclosed comment");
      j = end + 2;
      bool trimRight = false;
      if (j + 1 < in_.size() && isSpaceChar(in_[j]) && in_[j + 1] == '-' &&
          in_.substr(j + 2, rd_.size()) == rd_) {
        trimRight = true;
        j += 2;
      }
      if (in_.substr(j, rd_.size()) != rd_) fail(next, "comment ends before closing delimiter");
      i_ = j + rd_.size();
      if (trimRight) skipLeadingSpace();
      return;
    }
    emit(Tok::LeftDelim, std::string(ld_), next);
    lexInsideAction(next);
  }

  void skipLeadingSpace() {
    while (i_ < in_.size() && isSpaceChar(in_[i_])) ++i_;
  }

  void lexInsideAction(size_t actionStart) {
    int parenDepth = 0;
    bool space = false;
    while (true) {
      if (i_ >= in_.size()) fail(actionStart, "unclosed action");
      // Right delimiter, possibly with a trim marker " -".
      if (isSpaceChar(in_[i_]) && i_ + 1 < in_.size() && in_[i_ + 1] == '-' &&
          in_.substr(i_ + 2, rd_.size()) == rd_) {
        if (parenDepth) fail(i_, "unclosed left paren");
        emit(Tok::RightDelim, std::string(rd_), i_ + 2);
        i_ += 2 + rd_.size();
        skipLeadingSpace();
        return;
      }
      if (in_.substr(i_, rd_.size()) == rd_) {
        if (parenDepth) fail(i_, "unclosed left paren");
        emit(Tok::RightDelim, std::string(rd_), i_);
        i_ += rd_.size();
        return;
      }
      char c = in_[i_];
      if (isSpaceChar(c)) {
        if (c == '\n' || c == '\r') fail(i_, "newline in action is not allowed here");
        ++i_;
        space = true;
        continue;
      }
      size_t start = i_;
      if (c == '(') {
        ++parenDepth;
        ++i_;
        emit(Tok::LeftParen, "(", start, space);
      } else if (c == ')') {
        if (--parenDepth < 0) fail(i_, "unexpected right paren");
        ++i_;
        emit(Tok::RightParen, ")", start, space);
      } else if (c == '|') {
        ++i_;
        emit(Tok::Pipe, "|", start, space);
      } else if (c == ',') {
        ++i_;
        emit(Tok::Comma, ",", start, space);
      } else if (c == ':') {
        if (i_ + 1 >= in_.size() || in_[i_ + 1] != '=') fail(i_, "expected :=");
        i_ += 2;
        emit(Tok::Declare, ":=", start, space);
      } else if (c == '=') {
        ++i_;
        emit(Tok::Assign, "=", start, space);
      } else if (c == '"') {
        emit(Tok::String, lexQuoted('"'), start, space);
      } else if (c == '`') {
        size_t end = in_.find('`', i_ + 1);
        if (end == std::string_view::npos) fail(i_, "unterminated raw quoted string");
        emit(Tok::String, std::string(in_.substr(i_ + 1, end - i_ - 1)), start, space);
        i_ = end + 1;
      } else if (c == '\'') {
        std::string ch = lexQuoted('\'');
        emit(Tok::Char, ch, start, space);
      } else if (c == '$') {
        ++i_;
        while (i_ < in_.size() && isAlnum(in_[i_])) ++i_;
        emit(Tok::Variable, std::string(in_.substr(start, i_ - start)), start, space);
      } else if (c == '.') {
        if (i_ + 1 < in_.size() && in_[i_ + 1] >= '0' && in_[i_ + 1] <= '9') {
          lexNumber(start, space);
        } else if (i_ + 1 < in_.size() && isAlnum(in_[i_ + 1])) {
          ++i_;
          while (i_ < in_.size() && isAlnum(in_[i_])) ++i_;
          emit(Tok::Field, std::string(in_.substr(start + 1, i_ - start - 1)), start, space);
        } else {
          ++i_;
          emit(Tok::Dot, ".", start, space);
        }
      } else if ((c >= '0' && c <= '9') ||
                 ((c == '-' || c == '+') && i_ + 1 < in_.size() &&
                  (std::isdigit(static_cast<unsigned char>(in_[i_ + 1])) || in_[i_ + 1] == '.'))) {
        lexNumber(start, space);
      } else if (isAlnum(c)) {
        while (i_ < in_.size() && isAlnum(in_[i_])) ++i_;
        std::string word(in_.substr(start, i_ - start));
        if (word == "true" || word == "false") {
          emit(Tok::Bool, word, start, space);
        } else if (word == "nil") {
          emit(Tok::Nil, word, start, space);
        } else if (kKeywords.count(word)) {
          emit(Tok::Keyword, word, start, space);
        } else {
          emit(Tok::Identifier, word, start, space);
        }
      } else {
        fail(i_, std::string("unrecognized character in action: '") + c + "'");
      }
      space = false;
    }
  }

  void lexNumber(size_t start, bool space) {
    if (in_[i_] == '-' || in_[i_] == '+') ++i_;
    while (i_ < in_.size() &&
           (isAlnum(in_[i_]) || in_[i_] == '.' ||
            ((in_[i_] == '-' || in_[i_] == '+') &&
             (in_[i_ - 1] == 'e' || in_[i_ - 1] == 'E' || in_[i_ - 1] == 'p')))) {
      ++i_;
    }
    emit(Tok::Number, std::string(in_.substr(start, i_ - start)), start, space);
  }

  // Returns the unquoted content of a Go "..." or '...' literal.
  std::string lexQuoted(char q) {
    size_t start = i_;
    ++i_;
    std::string out;
    while (true) {
      if (i_ >= in_.size() || in_[i_] == '\n') fail(start, "unterminated quoted string");
      char c = in_[i_++];
      if (c == q) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= in_.size()) fail(start, "unterminated quoted string");
      char e = in_[i_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '\'':
          out += '\'';
          break;
        case 'x': {
          if (i_ + 2 > in_.size()) fail(start, "invalid escape in quoted string");
          unsigned v = 0;
          auto r = std::from_chars(in_.data() + i_, in_.data() + i_ + 2, v, 16);
          if (r.ptr != in_.data() + i_ + 2) fail(start, "invalid escape in quoted string");
          out += static_cast<char>(v);
          i_ += 2;
          break;
        }
        case 'u':
        case 'U': {
          size_t n = e == 'u' ? 4 : 8;
          if (i_ + n > in_.size()) fail(start, "invalid escape in quoted string");
          unsigned long cp = 0;
          auto r = std::from_chars(in_.data() + i_, in_.data() + i_ + n, cp, 16);
          if (r.ptr != in_.data() + i_ + n || cp > 0x10FFFF)
            fail(start, "invalid escape in quoted string");
          appendUtf8(out, static_cast<uint32_t>(cp));
          i_ += n;
          break;
        }
        default:
          fail(start, std::string("invalid escape \\") + e + " in quoted string");
      }
    }
    return out;
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view in_, ld_, rd_;
  size_t i_ = 0;
  std::vector<Token> out_;
};

}  // namespace

// ---------------------------------------------------------------- syntax tree

struct Pipeline;

struct Operand {
  enum class Kind { Dot, Variable, Function, Literal, Nil, SubPipe };
  Kind kind = Kind::Dot;
  std::string name;  // variable or function name
  Value literal;
  std::shared_ptr<Pipeline> sub;
  std::vector<std::string> fields;  // field chain applied to the base
  Pos pos;
};

struct Command {
  std::vector<Operand> args;
  Pos pos;
};

struct Pipeline {
  std::vector<std::string> vars;
  bool declare = false;  // := (true) or = (false), when vars is not empty
  std::vector<Command> cmds;
  Pos pos;
};

struct Node {
  enum class Kind { List, Text, Action, If, Range, With, Break, Continue };
  Kind kind = Kind::List;
  std::string text;
  Pipeline pipe;
  std::vector<std::shared_ptr<Node>> list;
  std::shared_ptr<Node> elseList;
  Pos pos;
};

namespace {

const std::set<std::string, std::less<>> kFunctions = {
    "and", "or", "not", "len", "index", "print", "printf", "println",  "eq",
    "ne",  "lt", "le",  "gt",  "ge",    "html",  "js",     "urlquery", "slice"};

// ---------------------------------------------------------------- parser

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) { vars_.push_back({"$"}); }

  std::shared_ptr<Node> parseTemplate() {
    auto root = std::make_shared<Node>();
    std::string stop = parseList(*root, /*inRange=*/false);
    if (!stop.empty()) fail(prev_, "unexpected {{" + stop + "}}");
    return root;
  }

 private:
  [[noreturn]] void fail(const Pos& p, const std::string& msg) const {
    throw TemplateError(p.line, p.col, msg);
  }
  const Token& peek() const { return t_[i_]; }
  const Token& next() {
    prev_ = t_[i_].pos;
    return t_[i_ < t_.size() - 1 ? i_++ : i_];
  }
  const Token& expect(Tok k, const char* what) {
    if (peek().kind != k)
      fail(peek().pos, std::string("expected ") + what + ", found \"" + peek().text + "\"");
    return next();
  }

  // Parses nodes until {{end}} or {{else}}; returns "end", "else" or "" at EOF.
  std::string parseList(Node& into, bool inRange) {
    while (true) {
      const Token& tok = peek();
      if (tok.kind == Tok::Eof) return "";
      if (tok.kind == Tok::Text) {
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::Text;
        n->text = next().text;
        into.list.push_back(n);
        continue;
      }
      Pos delimPos = expect(Tok::LeftDelim, "action").pos;
      const Token& first = peek();
      if (first.kind == Tok::Keyword) {
        std::string kw = first.text;
        if (kw == "end" || kw == "else") {
          next();
          if (kw == "end") expect(Tok::RightDelim, "end of action");
          return kw;
        }
        next();
        if (kw == "if" || kw == "with" || kw == "range") {
          into.list.push_back(parseControl(kw, delimPos, inRange));
        } else if (kw == "break" || kw == "continue") {
          if (!inRange) fail(delimPos, "{{" + kw + "}} outside {{range}}");
          expect(Tok::RightDelim, "end of action");
          auto n = std::make_shared<Node>();
          n->kind = kw == "break" ? Node::Kind::Break : Node::Kind::Continue;
          n->pos = delimPos;
          into.list.push_back(n);
        } else {
          fail(first.pos, "{{" + kw + "}} is not supported in metrics query templates");
        }
        continue;
      }
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::Action;
      n->pos = delimPos;
      n->pipe = parsePipeline("command", /*allowDecl=*/true);
      into.list.push_back(n);
    }
  }

  std::shared_ptr<Node> parseControl(const std::string& kw, Pos pos, bool inRange) {
    auto n = std::make_shared<Node>();
    n->kind = kw == "if" ? Node::Kind::If : kw == "with" ? Node::Kind::With : Node::Kind::Range;
    n->pos = pos;
    vars_.emplace_back();  // the pipeline's declarations are scoped to the control body
    n->pipe = parsePipeline(kw, /*allowDecl=*/true, /*rangeDecl=*/kw == "range");
    std::string stop = parseList(*n, inRange || kw == "range");
    if (stop.empty()) fail(pos, "unexpected EOF: {{" + kw + "}} has no {{end}}");
    if (stop == "else") {
      n->elseList = std::make_shared<Node>();
      if (peek().kind == Tok::Keyword && (peek().text == "if" || peek().text == "with") &&
          kw != "range") {
        // {{else if ...}} chains: treat as {{else}}{{if ...}}...{{end}}{{end}}.
        std::string chained = next().text;
        n->elseList->list.push_back(parseControl(chained, pos, inRange));
        vars_.pop_back();
        return n;
      }
      expect(Tok::RightDelim, "end of action");
      stop = parseList(*n->elseList, inRange);
      if (stop != "end") fail(pos, "expected {{end}} after {{else}}");
    }
    vars_.pop_back();
    return n;
  }

  Pipeline parsePipeline(const std::string& context, bool allowDecl, bool rangeDecl = false) {
    Pipeline p;
    p.pos = peek().pos;
    // Declarations: $x := / $x = / $i, $e :=
    if (allowDecl && peek().kind == Tok::Variable) {
      size_t save = i_;
      std::vector<std::string> names{next().text};
      if (rangeDecl && peek().kind == Tok::Comma) {
        next();
        if (peek().kind != Tok::Variable) fail(peek().pos, "range can only initialize variables");
        names.push_back(next().text);
      }
      if (peek().kind == Tok::Declare || peek().kind == Tok::Assign) {
        p.declare = next().kind == Tok::Declare;
        p.vars = names;
        for (const auto& v : names) {
          if (p.declare) {
            vars_.back().push_back(v);
          } else if (!varDefined(v)) {
            fail(p.pos, "undefined variable \"" + v + "\"");
          }
        }
      } else {
        i_ = save;
      }
    }
    while (true) {
      Command cmd = parseCommand();
      p.cmds.push_back(std::move(cmd));
      if (peek().kind == Tok::Pipe) {
        next();
        continue;
      }
      if (peek().kind == Tok::RightDelim || peek().kind == Tok::RightParen) break;
      fail(peek().pos, "unexpected \"" + peek().text + "\" in " + context);
    }
    if (peek().kind == Tok::RightDelim) {
      next();
    }
    if (p.cmds.empty()) fail(p.pos, "missing value for " + context);
    return p;
  }

  Command parseCommand() {
    Command c;
    c.pos = peek().pos;
    while (true) {
      const Token& tok = peek();
      if (tok.kind == Tok::RightDelim || tok.kind == Tok::RightParen || tok.kind == Tok::Pipe)
        break;
      if (!c.args.empty() && !tok.spaceBefore && tok.kind != Tok::Field) {
        fail(tok.pos, "missing space before \"" + tok.text + "\"");
      }
      c.args.push_back(parseOperand());
    }
    if (c.args.empty()) fail(c.pos, "empty command");
    const Operand& head = c.args.front();
    if (head.kind == Operand::Kind::Nil && head.fields.empty()) fail(c.pos, "nil is not a command");
    return c;
  }

  Operand parseOperand() {
    Operand o;
    const Token& tok = next();
    o.pos = tok.pos;
    switch (tok.kind) {
      case Tok::Dot:
        o.kind = Operand::Kind::Dot;
        break;
      case Tok::Field:
        o.kind = Operand::Kind::Dot;
        o.fields.push_back(tok.text);
        break;
      case Tok::Variable:
        if (!varDefined(tok.text)) fail(tok.pos, "undefined variable \"" + tok.text + "\"");
        o.kind = Operand::Kind::Variable;
        o.name = tok.text;
        break;
      case Tok::Identifier:
        if (!kFunctions.count(tok.text)) fail(tok.pos, "function \"" + tok.text + "\" not defined");
        o.kind = Operand::Kind::Function;
        o.name = tok.text;
        return o;  // functions take no field chain
      case Tok::String:
        o.kind = Operand::Kind::Literal;
        o.literal = Value(tok.text);
        break;
      case Tok::Bool:
        o.kind = Operand::Kind::Literal;
        o.literal = Value(tok.text == "true");
        break;
      case Tok::Nil:
        o.kind = Operand::Kind::Nil;
        break;
      case Tok::Char: {
        o.kind = Operand::Kind::Literal;
        o.literal = Value(static_cast<int64_t>(decodeFirstRune(tok.text, tok.pos)));
        break;
      }
      case Tok::Number:
        o.kind = Operand::Kind::Literal;
        o.literal = parseNumber(tok);
        break;
      case Tok::LeftParen:
        o.kind = Operand::Kind::SubPipe;
        o.sub = std::make_shared<Pipeline>(parsePipeline("parenthesized pipeline", false));
        expect(Tok::RightParen, "right paren");
        break;
      default:
        fail(tok.pos, "unexpected \"" + tok.text + "\" in operand");
    }
    while (peek().kind == Tok::Field && !peek().spaceBefore) {
      if (o.kind == Operand::Kind::Literal || o.kind == Operand::Kind::Nil) {
        fail(peek().pos, "unexpected . after term");
      }
      o.fields.push_back(next().text);
    }
    return o;
  }

  int64_t decodeFirstRune(const std::string& s, Pos pos) const {
    if (s.empty()) fail(pos, "empty character constant");
    auto c = static_cast<unsigned char>(s[0]);
    if (c < 0x80) {
      if (s.size() != 1) fail(pos, "malformed character constant");
      return c;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (static_cast<int>(s.size()) != len) fail(pos, "malformed character constant");
    int64_t cp = c & (0xFF >> (len + 1));
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[k]) & 0x3F);
    return cp;
  }

  Value parseNumber(const Token& tok) const {
    std::string s;
    for (char c : tok.text)
      if (c != '_') s += c;
    bool neg = false;
    std::string body = s;
    if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
      neg = body[0] == '-';
      body.erase(0, 1);
    }
    int base = 10;
    std::string digits = body;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
      base = 16;
      digits = body.substr(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) {
      base = 8;
      digits = body.substr(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
      base = 2;
      digits = body.substr(2);
    } else if (body.size() > 1 && body[0] == '0' &&
               body.find_first_of(".eE") == std::string::npos) {
      base = 8;
      digits = body.substr(1);
    }
    int64_t iv = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), iv, base);
    if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) return Value(neg ? -iv : iv);
    if (base == 10) {
      char* end = nullptr;
      double d = std::strtod(body.c_str(), &end);
      if (end == body.c_str() + body.size() && !body.empty()) return Value(neg ? -d : d);
    }
    fail(tok.pos, "bad number syntax: \"" + tok.text + "\"");
  }

  bool varDefined(const std::string& name) const {
    for (const auto& scope : vars_)
      if (std::find(scope.begin(), scope.end(), name) != scope.end()) return true;
    return false;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  Pos prev_;
  std::vector<std::vector<std::string>> vars_;
};

// ---------------------------------------------------------------- printf

struct FormatSpec {
  bool minus = false, plus = false, sharp = false, zero = false, space = false;
  int width = -1;
  int prec = -1;
};

std::string pad(std::string s, const FormatSpec& f) {
  if (f.width < 0 || static_cast<int>(s.size()) >= f.width) return s;
  size_t n = static_cast<size_t>(f.width) - s.size();
  if (f.minus) return s + std::string(n, ' ');
  if (f.zero && !s.empty() && (s[0] == '-' || s[0] == '+'))
    return s.substr(0, 1) + std::string(n, '0') + s.substr(1);
  return std::string(n, f.zero ? '0' : ' ') + s;
}

std::string badVerb(char verb, const Value& v) {
  if (v.isNil()) return std::string("%!") + verb + "(<nil>)";
  return std::string("%!") + verb + "(" + v.typeName() + "=" + formatValue(v) + ")";
}

std::string formatOne(char verb, const FormatSpec& f, const Value& v) {
  const auto& st = v.storage();
  char buf[512];
  auto cfmt = [&](const char* conv, auto x) {
    std::string spec = "%";
    if (f.minus) spec += '-';
    if (f.plus) spec += '+';
    if (f.sharp) spec += '#';
    if (f.zero) spec += '0';
    if (f.space) spec += ' ';
    if (f.width >= 0) spec += std::to_string(f.width);
    if (f.prec >= 0) spec += "." + std::to_string(f.prec);
    spec += conv;
    std::snprintf(buf, sizeof buf, spec.c_str(), x);
    return std::string(buf);
  };
  switch (verb) {
    case 'v':
      if (std::holds_alternative<double>(st) && f.prec < 0 && f.width < 0) return formatValue(v);
      if (std::holds_alternative<double>(st)) return cfmt("g", std::get<double>(st));
      return pad(formatValue(v), f);
    case 's':
      if (std::holds_alternative<std::string>(st)) {
        std::string s = std::get<std::string>(st);
        if (f.prec >= 0 && static_cast<int>(s.size()) > f.prec)
          s.resize(static_cast<size_t>(f.prec));
        return pad(s, f);
      }
      if (std::holds_alternative<std::shared_ptr<const ValueList>>(st) ||
          std::holds_alternative<std::shared_ptr<const ValueMap>>(st)) {
        return pad(formatValue(v), f);
      }
      return badVerb(verb, v);
    case 'q':
      if (std::holds_alternative<std::string>(st))
        return pad(goQuote(std::get<std::string>(st)), f);
      return badVerb(verb, v);
    case 'd':
      if (std::holds_alternative<int64_t>(st))
        return cfmt("lld", static_cast<long long>(std::get<int64_t>(st)));
      return badVerb(verb, v);
    case 'x':
    case 'X':
      if (std::holds_alternative<int64_t>(st)) {
        return cfmt(verb == 'x' ? "llx" : "llX", static_cast<long long>(std::get<int64_t>(st)));
      }
      if (std::holds_alternative<std::string>(st)) {
        std::string out;
        for (unsigned char c : std::get<std::string>(st)) {
          std::snprintf(buf, sizeof buf, verb == 'x' ? "%02x" : "%02X", c);
          out += buf;
        }
        return pad(out, f);
      }
      return badVerb(verb, v);
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      if (!std::holds_alternative<double>(st)) return badVerb(verb, v);
      double d = std::get<double>(st);
      if ((verb == 'g' || verb == 'G') && f.prec < 0) return pad(formatFloatShortest(d), f);
      FormatSpec g = f;
      if (g.prec < 0) g.prec = 6;
      std::string conv(1, verb == 'F' ? 'f' : verb);
      std::string spec = "%";
      if (g.minus) spec += '-';
      if (g.plus) spec += '+';
      if (g.zero) spec += '0';
      if (g.width >= 0) spec += std::to_string(g.width);
      spec += "." + std::to_string(g.prec) + conv;
      std::snprintf(buf, sizeof buf, spec.c_str(), d);
      return buf;
    }
    case 't':
      if (std::holds_alternative<bool>(st)) return pad(std::get<bool>(st) ? "true" : "false", f);
      return badVerb(verb, v);
    case 'c':
      if (std::holds_alternative<int64_t>(st)) {
        std::string s;
        auto cp = static_cast<uint32_t>(std::get<int64_t>(st));
        if (cp < 0x80)
          s += static_cast<char>(cp);
        else
          s = "\xEF\xBF\xBD";
        return pad(s, f);
      }
      return badVerb(verb, v);
    default:
      return badVerb(verb, v);
  }
}

std::string goSprintf(const std::string& format, const std::vector<Value>& args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c != '%') {
      out += c;
      continue;
    }
    if (++i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    FormatSpec f;
    for (; i < format.size(); ++i) {
      char fl = format[i];
      if (fl == '-')
        f.minus = true;
      else if (fl == '+')
        f.plus = true;
      else if (fl == '#')
        f.sharp = true;
      else if (fl == '0')
        f.zero = !f.minus;
      else if (fl == ' ')
        f.space = true;
      else
        break;
    }
    auto readNum = [&](int& into) {
      if (i < format.size() && format[i] == '*') {
        ++i;
        if (argi < args.size() && std::holds_alternative<int64_t>(args[argi].storage())) {
          into = static_cast<int>(std::get<int64_t>(args[argi++].storage()));
        } else {
          out += "%!(BADWIDTH)";
          if (argi < args.size()) ++argi;
        }
        return;
      }
      int n = -1;
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) {
        n = (n < 0 ? 0 : n * 10) + (format[i++] - '0');
        if (n > 1000000) n = 1000000;
      }
      into = n;
    };
    readNum(f.width);
    if (i < format.size() && format[i] == '.') {
      ++i;
      readNum(f.prec);
      if (f.prec < 0) f.prec = 0;
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    out += formatOne(verb, f, args[argi++]);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      out += args[k].isNil() ? "<nil>" : args[k].typeName() + "=" + formatValue(args[k]);
    }
    out += ")";
  }
  return out;
}

// fmt.Sprint: spaces between operands when neither side is a string.
std::string goSprint(const std::vector<Value>& args) {
  std::string out;
  for (size_t k = 0; k < args.size(); ++k) {
    bool isStr = std::holds_alternative<std::string>(args[k].storage());
    if (k > 0 && !isStr && !std::holds_alternative<std::string>(args[k - 1].storage())) out += ' ';
    out += formatValue(args[k]);
  }
  return out;
}

// ---------------------------------------------------------------- executor

struct BreakSignal {};
struct ContinueSignal {};

// A query template renders a few hundred bytes in a few hundred steps; these
// bounds stop a template (e.g. `range` over a huge number) from holding a
// request thread or memory.
constexpr size_t kMaxSteps = 1000000;
constexpr size_t kMaxOutputBytes = 1 << 20;

class Executor {
 public:
  explicit Executor(const Value& dot) { vars_.push_back({{"$", dot}}); }

  void walk(const Value& dot, const Node& n, std::string& out) {
    step(n.pos, out);
    switch (n.kind) {
      case Node::Kind::List:
        for (const auto& c : n.list) walk(dot, *c, out);
        return;
      case Node::Kind::Text:
        out += n.text;
        return;
      case Node::Kind::Action: {
        Value v = evalPipeline(dot, n.pipe);
        if (n.pipe.vars.empty()) out += printable(v);
        return;
      }
      case Node::Kind::If:
      case Node::Kind::With: {
        vars_.emplace_back();
        Value v = evalPipeline(dot, n.pipe);
        if (v.truthy()) {
          walkList(n.kind == Node::Kind::With ? v : dot, n, out);
        } else if (n.elseList) {
          walk(dot, *n.elseList, out);
        }
        vars_.pop_back();
        return;
      }
      case Node::Kind::Range:
        walkRange(dot, n, out);
        return;
      case Node::Kind::Break:
        throw BreakSignal{};
      case Node::Kind::Continue:
        throw ContinueSignal{};
    }
  }

 private:
  void step(const Pos& pos, const std::string& out) {
    if (++steps_ > kMaxSteps) {
      fail(pos, "template execution exceeded " + std::to_string(kMaxSteps) + " steps");
    }
    if (out.size() > kMaxOutputBytes) {
      fail(pos, "template output exceeded " + std::to_string(kMaxOutputBytes) + " bytes");
    }
  }

  [[noreturn]] static void fail(const Pos& p, const std::string& msg) {
    throw TemplateError(p.line, p.col, msg);
  }

  static std::string printable(const Value& v) {
    if (v.isNil()) return "<no value>";
    return formatValue(v);
  }

  void walkList(const Value& dot, const Node& n, std::string& out) {
    for (const auto& c : n.list) walk(dot, *c, out);
  }

  void walkRange(const Value& dot, const Node& n, std::string& out) {
    vars_.emplace_back();
    Pipeline header = n.pipe;
    std::vector<std::string> declared = header.vars;
    header.vars.clear();
    Value v = evalPipeline(dot, header);
    auto body = [&](const Value& key, const Value& elem) -> bool {
      step(n.pos, out);  // counted even when the body is empty
      vars_.emplace_back();
      if (declared.size() == 1) setVar(declared[0], elem, n.pipe.declare);
      if (declared.size() == 2) {
        setVar(declared[0], key, n.pipe.declare);
        setVar(declared[1], elem, n.pipe.declare);
      }
      bool stop = false;
      try {
        walkList(elem, n, out);
      } catch (const BreakSignal&) {
        stop = true;
      } catch (const ContinueSignal&) {
      }
      vars_.pop_back();
      return !stop;
    };
    bool any = false;
    const auto& st = v.storage();
    if (auto l = std::get_if<std::shared_ptr<const ValueList>>(&st)) {
      for (size_t k = 0; k < (*l)->items.size(); ++k) {
        any = true;
        if (!body(Value(static_cast<int64_t>(k)), (*l)->items[k])) break;
      }
    } else if (auto m = std::get_if<std::shared_ptr<const ValueMap>>(&st)) {
      for (const auto& [k, e] : (*m)->items) {
        any = true;
        if (!body(Value(k), e)) break;
      }
    } else if (auto i = std::get_if<int64_t>(&st)) {
      for (int64_t k = 0; k < *i; ++k) {
        any = true;
        if (!body(Value(k), Value(k))) break;
      }
    } else if (!v.isNil()) {
      fail(n.pos, "range can't iterate over " + formatValue(v));
    }
    if (!any && n.elseList) walk(dot, *n.elseList, out);
    vars_.pop_back();
  }

  void setVar(const std::string& name, const Value& v, bool declare) {
    if (declare) {
      vars_.back()[name] = v;
      return;
    }
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) {
        f->second = v;
        return;
      }
    }
    vars_.back()[name] = v;
  }

  Value getVar(const std::string& name, const Pos& pos) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    fail(pos, "undefined variable: " + name);
  }

  Value evalPipeline(const Value& dot, const Pipeline& p) {
    std::optional<Value> final;
    for (const auto& cmd : p.cmds) final = evalCommand(dot, cmd, final);
    Value v = final.value_or(Value());
    for (const auto& name : p.vars) setVar(name, v, p.declare);
    return v;
  }

  Value evalCommand(const Value& dot, const Command& cmd, const std::optional<Value>& final) {
    const Operand& head = cmd.args.front();
    if (head.kind == Operand::Kind::Function) return callFunction(dot, head, cmd, final);
    if (cmd.args.size() > 1 || final) {
      if (!head.fields.empty()) {
        fail(cmd.pos, head.fields.back() + " has arguments but cannot be invoked as function");
      }
      fail(cmd.pos, "can't give argument to non-function " + describe(head));
    }
    return evalOperand(dot, head);
  }

  static std::string describe(const Operand& o) {
    switch (o.kind) {
      case Operand::Kind::Literal:
        return formatValue(o.literal);
      case Operand::Kind::Variable:
        return o.name;
      default:
        return ".";
    }
  }

  Value evalOperand(const Value& dot, const Operand& o) {
    Value base;
    switch (o.kind) {
      case Operand::Kind::Dot:
        base = dot;
        break;
      case Operand::Kind::Variable:
        base = getVar(o.name, o.pos);
        break;
      case Operand::Kind::Literal:
        base = o.literal;
        break;
      case Operand::Kind::Nil:
        fail(o.pos, "nil is not a command");
      case Operand::Kind::SubPipe:
        vars_.emplace_back();
        base = evalPipeline(dot, *o.sub);
        vars_.pop_back();
        break;
      case Operand::Kind::Function: {
        Command c{{o}, o.pos};
        return callFunction(dot, o, c, std::nullopt);
      }
    }
    for (const auto& f : o.fields) base = field(base, f, o.pos);
    return base;
  }

  static Value field(const Value& recv, const std::string& name, const Pos& pos) {
    const auto& st = recv.storage();
    if (auto m = std::get_if<std::shared_ptr<const ValueMap>>(&st)) {
      auto it = (*m)->items.find(name);
      return it == (*m)->items.end() ? (*m)->missing : it->second;
    }
    if (auto s = std::get_if<std::shared_ptr<const ValueStruct>>(&st)) {
      for (const auto& [k, v] : (*s)->fields)
        if (k == name) return v;
      fail(pos, "can't evaluate field " + name + " in type " + (*s)->typeName);
    }
    if (recv.isNil()) fail(pos, "nil pointer evaluating interface {}." + name);
    fail(pos, "can't evaluate field " + name + " in type " + recv.typeName());
  }

  static void needArgs(const std::string& name, size_t argc, size_t n, bool atLeast,
                       const Pos& pos) {
    if (atLeast ? argc < n : argc != n) {
      fail(pos, "wrong number of args for " + name + ": want " + (atLeast ? "at least " : "") +
                    std::to_string(n) + " got " + std::to_string(argc));
    }
  }

  Value callFunction(const Value& dot, const Operand& fn, const Command& cmd,
                     const std::optional<Value>& final) {
    const std::string& name = fn.name;
    size_t argc = cmd.args.size() - 1 + (final ? 1 : 0);
    auto arg = [&](size_t k) -> Value {
      if (k + 1 < cmd.args.size()) {
        const Operand& a = cmd.args[k + 1];
        if (a.kind == Operand::Kind::Nil) return Value();
        if (a.kind == Operand::Kind::Function) {
          Command c{{a}, a.pos};
          return callFunction(dot, a, c, std::nullopt);
        }
        return evalOperand(dot, a);
      }
      return *final;
    };
    if (name == "and" || name == "or") {  // short-circuit: arguments evaluated as needed
      needArgs(name, argc, 1, true, cmd.pos);
      Value v;
      for (size_t k = 0; k < argc; ++k) {
        v = arg(k);
        if ((name == "and") != v.truthy()) return v;
      }
      return v;
    }
    std::vector<Value> args;
    args.reserve(argc);
    for (size_t k = 0; k < argc; ++k) args.push_back(arg(k));
    if (auto v = callComparison(name, args, cmd.pos)) return std::move(*v);
    if (auto v = callPrinting(name, args, cmd.pos)) return std::move(*v);
    return callCollection(name, args, cmd.pos);
  }

  // not, eq, ne, lt, le, gt, ge.
  static std::optional<Value> callComparison(const std::string& name,
                                             const std::vector<Value>& args, const Pos& pos) {
    if (name == "not") {
      needArgs(name, args.size(), 1, false, pos);
      return Value(!args[0].truthy());
    }
    if (name == "eq") {
      needArgs(name, args.size(), 2, true, pos);
      for (size_t k = 1; k < args.size(); ++k)
        if (compare(args[0], args[k], pos, true) == 0) return Value(true);
      return Value(false);
    }
    if (name == "ne") {
      needArgs(name, args.size(), 2, false, pos);
      return Value(compare(args[0], args[1], pos, true) != 0);
    }
    if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
      needArgs(name, args.size(), 2, false, pos);
      int c = compare(args[0], args[1], pos, false);
      if (name == "lt") return Value(c < 0);
      if (name == "le") return Value(c <= 0);
      if (name == "gt") return Value(c > 0);
      return Value(c >= 0);
    }
    return std::nullopt;
  }

  // print, println, printf and the escapers.
  static std::optional<Value> callPrinting(const std::string& name, const std::vector<Value>& args,
                                           const Pos& pos) {
    if (name == "print") return Value(goSprint(args));
    if (name == "println") {
      std::string out;
      for (size_t k = 0; k < args.size(); ++k) {
        if (k) out += ' ';
        out += formatValue(args[k]);
      }
      return Value(out + "\n");
    }
    if (name == "printf") {
      needArgs(name, args.size(), 1, true, pos);
      auto f = std::get_if<std::string>(&args[0].storage());
      if (!f) fail(pos, "wrong type for value; expected string; got " + args[0].typeName());
      return Value(goSprintf(*f, std::vector<Value>(args.begin() + 1, args.end())));
    }
    if (name == "urlquery") return Value(urlQueryEscape(goSprint(args)));
    if (name == "html") return Value(htmlEscape(goSprint(args)));
    if (name == "js") return Value(jsEscape(goSprint(args)));
    return std::nullopt;
  }

  // len, index, slice; any other name is not a function.
  static Value callCollection(const std::string& name, const std::vector<Value>& args,
                              const Pos& pos) {
    if (name == "len") {
      needArgs(name, args.size(), 1, false, pos);
      const auto& st = args[0].storage();
      if (auto s = std::get_if<std::string>(&st)) return Value(static_cast<int64_t>(s->size()));
      if (auto l = std::get_if<std::shared_ptr<const ValueList>>(&st))
        return Value(static_cast<int64_t>((*l)->items.size()));
      if (auto m = std::get_if<std::shared_ptr<const ValueMap>>(&st))
        return Value(static_cast<int64_t>((*m)->items.size()));
      fail(pos, "error calling len: len of type " + args[0].typeName());
    }
    if (name == "index") {
      needArgs(name, args.size(), 1, true, pos);
      Value cur = args[0];
      for (size_t k = 1; k < args.size(); ++k) cur = indexOne(cur, args[k], pos);
      return cur;
    }
    if (name == "slice") {
      needArgs(name, args.size(), 1, true, pos);
      return sliceOf(args, pos);
    }
    fail(pos, "function \"" + name + "\" not defined");
  }

  static Value indexOne(const Value& c, const Value& idx, const Pos& pos) {
    const auto& st = c.storage();
    if (auto l = std::get_if<std::shared_ptr<const ValueList>>(&st)) {
      auto i = std::get_if<int64_t>(&idx.storage());
      if (!i)
        fail(pos, "error calling index: cannot index slice/array with type " + idx.typeName());
      if (*i < 0 || static_cast<size_t>(*i) >= (*l)->items.size()) {
        fail(pos, "error calling index: index out of range: " + std::to_string(*i));
      }
      return (*l)->items[static_cast<size_t>(*i)];
    }
    if (auto s = std::get_if<std::string>(&st)) {
      auto i = std::get_if<int64_t>(&idx.storage());
      if (!i) fail(pos, "error calling index: cannot index string with type " + idx.typeName());
      if (*i < 0 || static_cast<size_t>(*i) >= s->size()) {
        fail(pos, "error calling index: index out of range: " + std::to_string(*i));
      }
      return Value(static_cast<int64_t>(static_cast<unsigned char>((*s)[static_cast<size_t>(*i)])));
    }
    if (auto m = std::get_if<std::shared_ptr<const ValueMap>>(&st)) {
      auto k = std::get_if<std::string>(&idx.storage());
      if (!k)
        fail(pos, "error calling index: value has type " + idx.typeName() + "; should be string");
      auto it = (*m)->items.find(*k);
      return it == (*m)->items.end() ? (*m)->missing : it->second;
    }
    if (c.isNil()) fail(pos, "error calling index: index of untyped nil");
    fail(pos, "error calling index: can't index item of type " + c.typeName());
  }

  static Value sliceOf(const std::vector<Value>& args, const Pos& pos) {
    std::vector<int64_t> idx;
    for (size_t k = 1; k < args.size(); ++k) {
      auto i = std::get_if<int64_t>(&args[k].storage());
      if (!i)
        fail(pos, "error calling slice: cannot index slice/array with type " + args[k].typeName());
      idx.push_back(*i);
    }
    if (idx.size() > 2) fail(pos, "error calling slice: too many slice indexes");
    const auto& st = args[0].storage();
    size_t len = 0;
    if (auto s = std::get_if<std::string>(&st))
      len = s->size();
    else if (auto l = std::get_if<std::shared_ptr<const ValueList>>(&st))
      len = (*l)->items.size();
    else
      fail(pos, "error calling slice: can't slice item of type " + args[0].typeName());
    int64_t lo = idx.size() > 0 ? idx[0] : 0;
    int64_t hi = idx.size() > 1 ? idx[1] : static_cast<int64_t>(len);
    if (lo < 0 || hi < lo || hi > static_cast<int64_t>(len)) {
      fail(pos, "error calling slice: index out of range");
    }
    if (auto s = std::get_if<std::string>(&st))
      return Value(s->substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo)));
    const auto& items = std::get<std::shared_ptr<const ValueList>>(st)->items;
    return Value::list(std::vector<Value>(items.begin() + lo, items.begin() + hi));
  }

  // Go's basic-kind comparison: same kinds only (ints with ints, ...).
  static int compare(const Value& a, const Value& b, const Pos& pos, bool equality) {
    const auto& x = a.storage();
    const auto& y = b.storage();
    if (x.index() != y.index()) {
      if (equality && (a.isNil() || b.isNil())) return a.isNil() && b.isNil() ? 0 : 1;
      fail(pos, "error calling " + std::string(equality ? "eq" : "lt") +
                    ": incompatible types for comparison");
    }
    if (auto i = std::get_if<int64_t>(&x))
      return (*i > std::get<int64_t>(y)) - (*i < std::get<int64_t>(y));
    if (auto d = std::get_if<double>(&x))
      return (*d > std::get<double>(y)) - (*d < std::get<double>(y));
    if (auto s = std::get_if<std::string>(&x))
      return s->compare(std::get<std::string>(y)) < 0 ? -1
                                                      : s->compare(std::get<std::string>(y)) > 0;
    if (auto bo = std::get_if<bool>(&x)) {
      if (!equality) fail(pos, "error calling lt: invalid type for comparison");
      return *bo == std::get<bool>(y) ? 0 : 1;
    }
    if (a.isNil()) return 0;
    fail(pos,
         "error calling " + std::string(equality ? "eq" : "lt") + ": invalid type for comparison");
  }

  static std::string urlQueryEscape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else if (c == ' ') {
        out += '+';
      } else {
        char b[4];
        std::snprintf(b, sizeof b, "%%%02X", c);
        out += b;
      }
    }
    return out;
  }
  static std::string htmlEscape(const std::string& s) {
    std::string out;
    for (char c : s) {
      switch (c) {
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '&':
          out += "&amp;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '"':
          out += "&#34;";
          break;
        case '\0':
          out += "\xEF\xBF\xBD";
          break;
        default:
          out += c;
      }
    }
    return out;
  }
  static std::string jsEscape(const std::string& s) {
    std::string out;
    for (char c : s) {
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '\'':
          out += "\\'";
          break;
        case '"':
          out += "\\\"";
          break;
        case '<':
          out += "\\u003C";
          break;
        case '>':
          out += "\\u003E";
          break;
        case '&':
          out += "\\u0026";
          break;
        case '=':
          out += "\\u003D";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += c;
      }
    }
    return out;
  }

  std::vector<std::map<std::string, Value>> vars_;
  size_t steps_ = 0;
};

}  // namespace

Template Template::parse(std::string_view text, std::string_view leftDelim,
                         std::string_view rightDelim) {
  Lexer lex(text, leftDelim, rightDelim);
  Parser p(lex.run());
  Template t;
  t.root_ = p.parseTemplate();
  return t;
}

std::string Template::execute(const Value& dot) const {
  std::string out;
  Executor ex(dot);
  ex.walk(dot, *root_, out);
  return out;
}

}  // namespace rules::gotemplate
