#include "rules/go_template.h"

#include <gtest/gtest.h>

using rules::gotemplate::Template;
using rules::gotemplate::TemplateError;
using rules::gotemplate::Value;

namespace {

Value data() {
  auto s = std::make_shared<rules::gotemplate::ValueStruct>();
  s->typeName = "main.args";
  s->fields = {{"Series", Value("http_requests_total")},
               {"Names", Value::stringList({"a", "b", "c"})},
               {"Empty", Value::stringList({})},
               {"Labels", Value::stringMap({{"pod", "web-1"}, {"namespace", "default"}})},
               {"Count", Value(3)},
               {"Ratio", Value(0.25)},
               {"Flag", Value(true)}};
  return Value(std::shared_ptr<const rules::gotemplate::ValueStruct>(std::move(s)));
}

std::string render(const std::string& t) { return Template::parse(t).execute(data()); }

struct Case {
  std::string templ;
  std::string expect;
};

class RenderTest : public ::testing::TestWithParam<Case> {};

TEST_P(RenderTest, MatchesGo) {
  EXPECT_EQ(render(GetParam().templ), GetParam().expect) << GetParam().templ;
}

INSTANTIATE_TEST_SUITE_P(
    Go, RenderTest,
    ::testing::Values(
        Case{"plain text", "plain text"}, Case{"<<.Series>>", "http_requests_total"},
        Case{"<<.Names>>", "[a b c]"}, Case{"<<.Labels>>", "map[namespace:default pod:web-1]"},
        Case{"<<.Labels.pod>>", "web-1"}, Case{"<<.Labels.missing>>", ""},
        Case{"<<index .Labels \"pod\">>", "web-1"}, Case{"<<index .Names 1>>", "b"},
        Case{"<<len .Names>>", "3"}, Case{"<<len .Series>>", "19"},
        Case{"<<range .Names>><<.>>,<<end>>", "a,b,c,"},
        Case{"<<range $i, $n := .Names>><<$i>>=<<$n>> <<end>>", "0=a 1=b 2=c "},
        Case{"<<range .Empty>>x<<else>>none<<end>>", "none"},
        Case{"<<range $k, $v := .Labels>><<$k>>:<<$v>>;<<end>>", "namespace:default;pod:web-1;"},
        Case{"<<range .Names>><<if eq . \"b\">><<break>><<end>><<.>><<end>>", "a"},
        Case{"<<range .Names>><<if eq . \"b\">><<continue>><<end>><<.>><<end>>", "ac"},
        Case{"<<if .Flag>>yes<<else>>no<<end>>", "yes"},
        Case{"<<if not .Flag>>yes<<else if .Count>>count<<else>>no<<end>>", "count"},
        Case{"<<if and .Flag .Empty>>x<<else>>y<<end>>", "y"},
        Case{"<<or .Empty .Series>>", "http_requests_total"}, Case{"<<and .Flag .Count>>", "3"},
        Case{"<<with .Labels.pod>>pod=<<.>><<end>>", "pod=web-1"},
        Case{"<<with .Labels.missing>>x<<else>>none<<end>>", "none"},
        Case{"<<$x := .Series>><<$x>>", "http_requests_total"},
        Case{"<<$x := 1>><<if .Flag>><<$x = 2>><<end>><<$x>>", "2"},
        Case{"<<.Series | printf \"%s!\">>", "http_requests_total!"},
        Case{"<<printf \"%d-%s-%v-%q\" .Count .Series .Names .Series>>",
             "3-http_requests_total-[a b c]-\"http_requests_total\""},
        Case{"<<printf \"%.2f|%5d|%-4s|%x\" .Ratio .Count \"ab\" 255>>", "0.25|    3|ab  |ff"},
        Case{"<<printf \"%d\">>", "%!d(MISSING)"}, Case{"<<printf \"%d\" \"x\">>", "%!d(string=x)"},
        Case{"<<printf \"%s\" 1 2>>", "%!s(int=1)%!(EXTRA int=2)"},
        Case{"<<print 1 2 \"a\" \"b\" 3>>", "1 2ab3"}, Case{"<<println \"a\" 1>>", "a 1\n"},
        Case{"<<.Ratio>> <<1e6>> <<1.5>> <<0.00001>> <<123456.0>>", "0.25 1e+06 1.5 1e-05 123456"},
        Case{"<<lt 1 2>> <<ge 2 2>> <<gt \"b\" \"a\">> <<ne 1 1>> <<eq 3 1 2 3>>",
             "true true true false true"},
        Case{"a  <<- \" b \" ->>  c", "a b c"}, Case{"x <</* comment */>> y", "x  y"},
        Case{"<<- /* trimmed */ ->>", ""}, Case{"<<(index .Names 0)>>", "a"},
        Case{"<<\"\\x41\\u00e9\\n\">>", "A\xc3\xa9\n"}, Case{"<<`raw\\n`>>", "raw\\n"},
        Case{"<<'a'>> <<0x10>> <<-3>>", "97 16 -3"}, Case{"<<slice .Series 0 4>>", "http"},
        Case{"<<urlquery \"a b&c\">>", "a+b%26c"}, Case{"<<html \"<a>\">>", "&lt;a&gt;"},
        Case{"<<.>>",
             "{http_requests_total [a b c] [] map[namespace:default pod:web-1] 3 0.25 true}"}));

struct ErrorCase {
  std::string templ;
  std::string fragment;
};

class ParseErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, ReportsPosition) {
  try {
    Template::parse(GetParam().templ);
    FAIL() << "expected a parse error for " << GetParam().templ;
  } catch (const TemplateError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().fragment), std::string::npos) << e.what();
    EXPECT_GT(e.line(), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Go, ParseErrorTest,
                         ::testing::Values(ErrorCase{"<<.Series", "unclosed action"},
                                           ErrorCase{"<<if .X>>a", "has no {{end}}"},
                                           ErrorCase{"<<end>>", "unexpected"},
                                           ErrorCase{"<<foo .X>>", "function \"foo\" not defined"},
                                           ErrorCase{"<<$x>>", "undefined variable \"$x\""},
                                           ErrorCase{"<<\"abc>>", "unterminated"},
                                           ErrorCase{"<<break>>", "outside {{range}}"},
                                           ErrorCase{"<<(.X>>", "unclosed left paren"},
                                           ErrorCase{"line1\n<<.X | >>", "2:"},
                                           ErrorCase{"<<template \"x\">>", "not supported"},
                                           ErrorCase{"<<nil>>", "nil is not a command"},
                                           ErrorCase{"<<.X ^ .Y>>", "unrecognized character"}));

TEST(TemplateExec, ErrorsAreReported) {
  EXPECT_THROW(render("<<.Nope>>"), TemplateError);
  EXPECT_THROW(render("<<index .Names 7>>"), TemplateError);
  EXPECT_THROW(render("<<.Series.Foo>>"), TemplateError);
  EXPECT_THROW(render("<<eq .Count \"3\">>"), TemplateError);
  EXPECT_THROW(render("<<.Series 1>>"), TemplateError);
  try {
    render("<<index .Names 7>>");
  } catch (const TemplateError& e) {
    EXPECT_NE(std::string(e.what()).find("index out of range: 7"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(TemplateExec, RunawayTemplatesAreStopped) {
  // A fuzzer-found template: nested range over a huge number.
  try {
    render("<<range $i, $v := 11111111111111>><<range 1000>>x<<end>><<end>>");
    FAIL() << "expected a step limit";
  } catch (const TemplateError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeded"), std::string::npos) << e.what();
  }
  EXPECT_THROW(render("<<range 100000>><<printf \"%1000d\" 1>><<end>>"), TemplateError);
}

TEST(TemplateExec, EmptyRangeBodiesCountToo) {
  EXPECT_THROW(render("<<range 11111111111111>><<end>>"), TemplateError);
}
