#include "rules/go_regexp.h"

#include <gtest/gtest.h>

using rules::GoRegexp;

TEST(GoRegexp, ExpandLikeGo) {
  GoRegexp re("^container_(.*)_seconds_total$");
  EXPECT_EQ(re.expand("$1", "container_cpu_usage_seconds_total").value(), "cpu_usage");
  EXPECT_EQ(re.expand("${1}_per_second", "container_cpu_seconds_total").value(), "cpu_per_second");
  // Go treats "$1_per_second" as the group named "1_per_second", which is empty.
  EXPECT_EQ(re.expand("$1_per_second", "container_cpu_seconds_total").value(), "");
  EXPECT_EQ(re.expand("$$1", "container_cpu_seconds_total").value(), "$1");
  EXPECT_EQ(re.expand("$0", "container_cpu_seconds_total").value(), "container_cpu_seconds_total");
  EXPECT_EQ(re.expand("$9", "container_cpu_seconds_total").value(), "");
  EXPECT_FALSE(re.expand("$1", "node_cpu").has_value());
}

TEST(GoRegexp, NamedGroupsAndUnanchored) {
  GoRegexp re("(?P<base>[a-z]+)_total");
  EXPECT_TRUE(re.matches("xx http_total yy"));
  EXPECT_EQ(re.expand("${base}_rate", "http_total").value(), "http_rate");
  EXPECT_EQ(re.expand("$base", "http_total").value(), "http");
  EXPECT_EQ(re.groupCount(), 1);
}

TEST(GoRegexp, InvalidPatternIsAnError) { EXPECT_THROW(GoRegexp("(unclosed"), rules::RegexError); }
