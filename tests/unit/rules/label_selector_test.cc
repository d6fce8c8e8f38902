#include "rules/label_selector.h"

#include <gtest/gtest.h>

using namespace rules;

namespace {
std::string matchers(const std::string& s) {
  auto m = selectorToMatchers(parseLabelSelector(s));
  std::string out;
  for (const auto& x : m.matchers) out += (out.empty() ? "" : ",") + x;
  return out;
}
}  // namespace

TEST(LabelSelector, ToPromQL) {
  EXPECT_EQ(matchers(""), "");
  EXPECT_EQ(matchers("k=v"), "k=\"v\"");
  EXPECT_EQ(matchers("k==v"), "k=\"v\"");
  EXPECT_EQ(matchers("k!=v"), "k!=\"v\"");
  EXPECT_EQ(matchers("k in (b,a)"), "k=~\"a|b\"");
  EXPECT_EQ(matchers("k notin (a, b)"), "k!~\"a|b\"");
  EXPECT_EQ(matchers("k"), "k!=\"\"");
  EXPECT_EQ(matchers("!k"), "k=\"\"");
  EXPECT_EQ(matchers("z=1, a=2"), "a=\"2\",z=\"1\"");  // sorted by key
  EXPECT_EQ(matchers("app.kubernetes.io/name=web"), "app.kubernetes.io/name=\"web\"");
  EXPECT_EQ(matchers("k="), "k=\"\"");
  // Regex metacharacters in set values are escaped: a value means itself.
  EXPECT_EQ(matchers("k in (a.b,c)"), "k=~\"a\\\\.b|c\"");
}

TEST(LabelSelector, ComparisonOperatorsAreRefusedForPromQL) {
  EXPECT_THROW(selectorToMatchers(parseLabelSelector("k>1")), SelectorError);
  try {
    selectorToMatchers(parseLabelSelector("k<1"));
  } catch (const SelectorError& e) {
    EXPECT_NE(std::string(e.what()).find("not supported"), std::string::npos);
  }
}

TEST(LabelSelector, InvalidInputIsAnError) {
  for (const char* bad : {"k in ()", "k in (a", "=v", "k=v=w", "k in a", "k=\"v\"", "k=a b",
                          "k notin", "-k=v", "k=v,", ",", "k=v}"}) {
    EXPECT_THROW(parseLabelSelector(bad), SelectorError) << bad;
  }
  try {
    parseLabelSelector("app=web,tier=\"x\"");
  } catch (const SelectorError& e) {
    EXPECT_NE(std::string(e.what()).find("position"), std::string::npos) << e.what();
  }
}

TEST(LabelSelector, Matches) {
  auto s = parseLabelSelector("app=web,tier in (a,b),!canary");
  EXPECT_TRUE(selectorMatches(s, {{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(selectorMatches(s, {{"app", "web"}, {"tier", "c"}}));
  EXPECT_FALSE(selectorMatches(s, {{"app", "web"}, {"tier", "a"}, {"canary", "1"}}));
  EXPECT_TRUE(selectorMatches(parseLabelSelector("n>3"), {{"n", "4"}}));
}
