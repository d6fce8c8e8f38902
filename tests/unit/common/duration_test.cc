#include "common/duration.h"

#include <gtest/gtest.h>

using common::parseDurationMillis;

// Prometheus durations, as rules' windows and the adapter's flags write them.
TEST(Duration, PrometheusStyle) {
  EXPECT_EQ(parseDurationMillis("1m").value(), 60000);
  EXPECT_EQ(parseDurationMillis("1h30m").value(), 5400000);
  EXPECT_EQ(parseDurationMillis("500ms").value(), 500);
  EXPECT_FALSE(parseDurationMillis("1m1h").has_value());
  EXPECT_FALSE(parseDurationMillis("abc").has_value());
  EXPECT_FALSE(parseDurationMillis("").has_value());
}

// As queue-stats' config writes them.
TEST(Duration, QueueStatsStyle) {
  EXPECT_EQ(parseDurationMillis("15s").value(), 15000);
  EXPECT_EQ(parseDurationMillis("1m30s").value(), 90000);
  EXPECT_EQ(parseDurationMillis("250ms").value(), 250);
  EXPECT_FALSE(parseDurationMillis("15").has_value());
  EXPECT_FALSE(parseDurationMillis("x").has_value());
}
