#include "rules/promql.h"

#include <gtest/gtest.h>

#include "rules/go_quote.h"

using namespace rules;

TEST(GoQuote, EscapesLikeStrconvQuote) {
  EXPECT_EQ(goQuote("plain"), "\"plain\"");
  EXPECT_EQ(goQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(goQuote("\n\t\r\a\b\f\v"), "\"\\n\\t\\r\\a\\b\\f\\v\"");
  EXPECT_EQ(goQuote(std::string("\x01\x7f", 2)), "\"\\x01\\x7f\"");
  EXPECT_EQ(goQuote("h\xc3\xa9"), "\"h\xc3\xa9\"");  // valid UTF-8 kept
  EXPECT_EQ(goQuote("\xff"), "\"\\xff\"");           // invalid UTF-8 escaped
}

TEST(PromQL, NoValueBreaksOutOfItsString) {
  // A hostile value stays one string literal.
  EXPECT_EQ(promql::labelEq("pod", "x\"} or vector(1) or {a=\""), "pod=\"x\\\"} or vector(1) or {a=\\\"\"");
  EXPECT_EQ(promql::quoteMeta("a.b*c(d)|e[f]{g}^$+?\\"), "a\\.b\\*c\\(d\\)\\|e\\[f\\]\\{g\\}\\^\\$\\+\\?\\\\");
  EXPECT_EQ(promql::labelMatches("pod", promql::alternation({"web-1", "n1.example.com"})),
            "pod=~\"web-1|n1\\\\.example\\\\.com\"");
}
