#include "common/http_client.h"

#include <gtest/gtest.h>

using namespace common;

TEST(Url, Parse) {
  auto u = Url::parse("https://prom.example:9443/prefix/");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "prom.example");
  EXPECT_EQ(u.port, "9443");
  EXPECT_EQ(u.pathPrefix, "/prefix");
  EXPECT_EQ(Url::parse("http://[::1]:9090").host, "::1");
  EXPECT_EQ(Url::parse("http://p").port, "80");
  EXPECT_THROW(Url::parse("prom:9090"), HttpClientError);
  EXPECT_THROW(Url::parse("ftp://p"), HttpClientError);
  EXPECT_THROW(Url::parse("http://user:pw@p"), HttpClientError);
}
