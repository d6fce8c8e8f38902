#include "rules/promql.h"

#include <gtest/gtest.h>

#include "rules/go_quote.h"

#include <re2/re2.h>

#include <map>
#include <memory>
#include <random>
#include <set>

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
  EXPECT_EQ(promql::labelEq("pod", "x\"} or vector(1) or {a=\""),
            "pod=\"x\\\"} or vector(1) or {a=\\\"\"");
  EXPECT_EQ(promql::quoteMeta("a.b*c(d)|e[f]{g}^$+?\\"),
            "a\\.b\\*c\\(d\\)\\|e\\[f\\]\\{g\\}\\^\\$\\+\\?\\\\");
  EXPECT_EQ(promql::labelMatches("pod", promql::alternation({"web-1", "n1.example.com"})),
            "pod=~\"web-1|n1\\\\.example\\\\.com\"");
}

namespace {
bool fullMatch(const std::string& regex, const std::string& s) {
  // Compiled once per pattern: the big one is matched thousands of times.
  static std::map<std::string, std::unique_ptr<RE2>> compiled;
  auto& re = compiled[regex];
  if (!re) re = std::make_unique<RE2>(regex);
  return RE2::FullMatch(s, *re);
}
}  // namespace

TEST(PromQL, FactoredAlternationIsCompactAndExact) {
  EXPECT_EQ(promql::factoredAlternation({"web-7d9f-a1", "web-7d9f-b2", "web-7d9f-c3"}),
            "web-7d9f-(a1|b2|c3)");
  EXPECT_EQ(promql::factoredAlternation({"api-0", "web-1", "web-2"}), "api-0|web-(1|2)");
  EXPECT_EQ(promql::factoredAlternation({"web", "web-1"}), "web(-1)?");
  EXPECT_EQ(promql::factoredAlternation({"n1.a", "n1.b"}), "n1\\.(a|b)");
  EXPECT_EQ(promql::factoredAlternation({"x"}), "x");

  // A ReplicaSet's 1,000 pods: the factored regex is much shorter, and
  // matches exactly those names.
  std::mt19937 rng(7);
  const std::string alphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::vector<std::string> names;
  std::set<std::string> seen;
  while (names.size() < 1000) {
    std::string n = "checkout-7d9f8c6b5-";
    for (int i = 0; i < 5; ++i) n += alphabet[rng() % alphabet.size()];
    if (seen.insert(n).second) names.push_back(n);
  }
  names.push_back("checkout-canary-0");
  std::string plain = promql::alternation(names);
  std::string factored = promql::factoredAlternation(names);
  EXPECT_LT(factored.size() * 3, plain.size()) << factored.size() << " vs " << plain.size();
  for (const auto& n : names) ASSERT_TRUE(fullMatch(factored, n)) << n;
  for (const char* other : {"checkout-7d9f8c6b5-", "checkout-7d9f8c6b5-bbbbbb", "checkout",
                            "checkout-canary-", "checkout-canary-01", "xcheckout-canary-0"}) {
    EXPECT_FALSE(fullMatch(factored, other) && !seen.count(other)) << other;
  }
  for (int i = 0; i < 2000; ++i) {
    std::string n = "checkout-7d9f8c6b5-";
    for (int k = 0; k < 5; ++k) n += alphabet[rng() % alphabet.size()];
    EXPECT_EQ(fullMatch(factored, n), seen.count(n) > 0) << n;
  }
}

TEST(PromQL, NamesStayReadableUntilLong) {
  EXPECT_EQ(promql::namesRegex({"somepod1", "somepod2"}), "somepod1|somepod2");
  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i) many.push_back("web-5c8d-" + std::to_string(1000 + i));
  std::string r = promql::namesRegex(many);
  EXPECT_EQ(r.rfind("web-5c8d-1", 0), 0u) << r;
  EXPECT_LT(r.size(), promql::alternation(many).size() / 2);
}
