#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "adapter/prometheus/prometheus_client.h"

using namespace adapter;

namespace {
// Reads `body` in small pieces, as a network would deliver it.
std::vector<std::pair<std::string, std::vector<std::string>>> parseSeries(const std::string& body,
                                                                          int status = 200) {
  size_t pos = 0;
  std::function<size_t(char*, size_t)> read = [&](char* buf, size_t len) {
    size_t n = std::min<size_t>({len, 7, body.size() - pos});
    std::memcpy(buf, body.data() + pos, n);
    pos += n;
    return n;
  };
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  parseSeriesResponse(status, read,
                      [&](std::string_view name, const std::vector<std::string>& labels) {
                        out.emplace_back(std::string(name), labels);
                      });
  return out;
}
}  // namespace

TEST(PrometheusParsing, SeriesStream) {
  auto s = parseSeries(
      R"({"status":"success","data":[{"__name__":"a","pod":"x","namespace":"y"},{"job":"j","__name__":"b\"q"}]})");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].first, "a");
  EXPECT_EQ(s[0].second, (std::vector<std::string>{"__name__", "pod", "namespace"}));
  EXPECT_EQ(s[1].first, "b\"q");
  EXPECT_TRUE(parseSeries(R"({"status":"success","data":[]})").empty());
}

TEST(PrometheusParsing, SeriesErrors) {
  EXPECT_THROW(parseSeries(R"({"status":"success","data":[{"__name__":"a")"), BackendError);
  EXPECT_THROW(parseSeries("<html>"), BackendError);
  try {
    parseSeries(R"({"status":"error","errorType":"bad_data","error":"parse error at char 3"})",
                400);
    FAIL();
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("bad_data: parse error at char 3"), std::string::npos)
        << e.what();
    EXPECT_FALSE(e.unavailable());
  }
  try {
    parseSeries("upstream down", 503);
    FAIL();
  } catch (const BackendError& e) {
    EXPECT_TRUE(e.unavailable());
  }
}

TEST(PrometheusParsing, QueryResults) {
  auto v = parseQueryResponse(200, R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"pod":"p1"},"value":[1700000000.5,"1.25"]},{"metric":{},"value":[1700000000,"NaN"]},
    {"metric":{"pod":"p3"},"value":[1700000000,"+Inf"]}]}})");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].labels.at("pod"), "p1");
  EXPECT_EQ(v[0].timestampMs, 1700000000500);
  EXPECT_DOUBLE_EQ(v[0].value, 1.25);
  EXPECT_TRUE(std::isnan(v[1].value));
  EXPECT_TRUE(std::isinf(v[2].value));
  auto s = parseQueryResponse(
      200, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"4"]}})");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_DOUBLE_EQ(s[0].value, 4);
}

TEST(PrometheusParsing, QueryErrorsNeverBecomeValues) {
  for (
      const char* bad :
      {"", "{", "[]", R"({"status":"success"})",
       R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}})",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}})",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})"}) {
    EXPECT_THROW(parseQueryResponse(200, bad), BackendError) << bad;
  }
  try {
    parseQueryResponse(
        422, R"({"status":"error","errorType":"execution","error":"many-to-many matching"})");
    FAIL();
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("execution: many-to-many"), std::string::npos);
    EXPECT_FALSE(e.unavailable());
  }
}
