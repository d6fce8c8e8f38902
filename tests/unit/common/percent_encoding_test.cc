#include "common/percent_encoding.h"

#include <gtest/gtest.h>

using common::percentDecode;
using common::percentEncode;

TEST(PercentEncoding, EscapesEverythingButUnreserved) {
  EXPECT_EQ(percentEncode("sum(x{a=\"b c\"})"), "sum%28x%7Ba%3D%22b%20c%22%7D%29");
}

TEST(PercentEncoding, KeepsSlashOnlyWhenAsked) {
  EXPECT_EQ(percentEncode("/a b/c", true), "/a%20b/c");
  EXPECT_EQ(percentEncode("/a b/c"), "%2Fa%20b%2Fc");
}

TEST(PercentEncoding, DecodesAndRejectsMalformedEscapes) {
  EXPECT_EQ(percentDecode("a%2Fb+c", true).value(), "a/b c");
  EXPECT_EQ(percentDecode("a%2fb+c", false).value(), "a/b+c");
  EXPECT_FALSE(percentDecode("a%2", false).has_value());
  EXPECT_FALSE(percentDecode("%zz", false).has_value());
}
