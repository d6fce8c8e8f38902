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

namespace {
// The answer read through the streaming overload, `chunk` bytes at a time.
std::vector<Sample> parseQueryByReader(const std::string& body, int status = 200,
                                       size_t chunk = 5) {
  size_t pos = 0;
  std::function<size_t(char*, size_t)> read = [&](char* buf, size_t len) {
    size_t n = std::min({len, chunk, body.size() - pos});
    std::memcpy(buf, body.data() + pos, n);
    pos += n;
    return n;
  };
  return parseQueryResponse(status, read);
}

struct QueryFailure {
  std::string what;  // empty when the answer parsed
  bool unavailable = false;
};

// Both overloads must fail alike; returns how.
QueryFailure queryFailure(const std::string& body, int status = 200) {
  QueryFailure whole, streamed;
  try {
    parseQueryResponse(status, body);
  } catch (const BackendError& e) {
    whole = {e.what(), e.unavailable()};
  }
  try {
    parseQueryByReader(body, status, 1);
  } catch (const BackendError& e) {
    streamed = {e.what(), e.unavailable()};
  }
  EXPECT_EQ(whole.what, streamed.what) << body;
  EXPECT_EQ(whole.unavailable, streamed.unavailable) << body;
  return whole;
}

std::string vectorOf(const std::string& samples) {
  return R"({"status":"success","data":{"resultType":"vector","result":[)" + samples + "]}}";
}
}  // namespace

TEST(PrometheusParsing, QueryKeysInAnyOrder) {
  for (const std::string& body : {
           std::string(R"({"data":{"result":[{"value":[2,"3"],"metric":{"pod":"p"}}],)"
                       R"("resultType":"vector"},"status":"success"})"),
           std::string(R"({"data":{"resultType":"vector","result":[{"metric":{"pod":"p"},)"
                       R"("value":[2,"3"]}]},"status":"success"})"),
       }) {
    for (const auto& v : {parseQueryResponse(200, body), parseQueryByReader(body)}) {
      ASSERT_EQ(v.size(), 1u) << body;
      EXPECT_EQ(v[0].labels, (std::map<std::string, std::string>{{"pod", "p"}}));
      EXPECT_EQ(v[0].timestampMs, 2000);
      EXPECT_DOUBLE_EQ(v[0].value, 3);
    }
  }
  auto s = parseQueryResponse(
      200, R"({"data":{"result":[1.5,"-Inf"],"resultType":"scalar"},"status":"success"})");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].timestampMs, 1500);
  EXPECT_TRUE(std::isinf(s[0].value) && s[0].value < 0);
  EXPECT_TRUE(s[0].labels.empty());
}

TEST(PrometheusParsing, QueryRepeatedKeysKeepTheLast) {
  auto v = parseQueryResponse(
      200, R"({"status":"error","status":"success","data":{"resultType":"matrix",)"
           R"("result":[{"value":[1,"x"]}],"resultType":"vector","result":[{"metric":{"a":1},)"
           R"("metric":{"a":"b"},"value":"x","value":[1,"2"]}]}})");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels.at("a"), "b");
  EXPECT_DOUBLE_EQ(v[0].value, 2);
}

TEST(PrometheusParsing, QuerySkipsUnknownMembersAtAnyDepth) {
  std::string body =
      R"({"status":"success","warnings":["PromQL info: metric might not be a counter"],)"
      R"("infos":[],"data":{"resultType":"vector","stats":{"timings":{"evalTotalTime":0.1},)"
      R"("samples":{"totalQueryableSamplesPerStep":[[1,2],[3,{"x":[null]}]]}},"result":[)"
      R"({"metric":{"pod":"a"},"histogram":[1,{"count":"2","buckets":[[0,"1","2","3"]]}],)"
      R"("value":[1,"1e3"],"extra":{"value":[9,"9"],"metric":{"pod":"z"}}},)"
      R"({"value":[1,"Inf"],"metric":{"pod":"b"},"ignored":[[[{}]]]}]},"error":null})";
  for (const auto& v : {parseQueryResponse(200, body), parseQueryByReader(body)}) {
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].labels, (std::map<std::string, std::string>{{"pod", "a"}}));
    EXPECT_DOUBLE_EQ(v[0].value, 1000);
    EXPECT_EQ(v[1].labels.at("pod"), "b");
    EXPECT_TRUE(std::isinf(v[1].value) && v[1].value > 0);
  }
}

TEST(PrometheusParsing, QueryThousandSamples) {
  std::string samples;
  for (int i = 0; i < 1000; ++i) {
    if (i) samples += ",";
    samples += R"({"metric":{"__name__":"up","namespace":"ns","pod":"pod-)" + std::to_string(i) +
               R"("},"value":[1700000000.123,")" + std::to_string(i) + R"(.5"]})";
  }
  std::string body = vectorOf(samples);
  for (const auto& v : {parseQueryResponse(200, body), parseQueryByReader(body, 200, 4096)}) {
    ASSERT_EQ(v.size(), 1000u);
    for (int i : {0, 1, 500, 999}) {
      EXPECT_EQ(v[i].labels.at("pod"), "pod-" + std::to_string(i));
      EXPECT_EQ(v[i].labels.size(), 3u);
      EXPECT_EQ(v[i].timestampMs, 1700000000123);
      EXPECT_DOUBLE_EQ(v[i].value, i + 0.5);
    }
  }
}

namespace {
const std::string kBadPoint = "malformed sample (expected [timestamp, \"value\"])";
const std::string kNotString = "malformed sample value (expected a string)";

// Each body must fail with exactly `want`, as a rejected answer (not a 503).
void expectFailures(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [body, want] : cases) {
    QueryFailure f = queryFailure(body);
    EXPECT_EQ(f.what, want) << body;
    EXPECT_FALSE(f.unavailable) << body;
  }
}
}  // namespace

TEST(PrometheusParsing, QueryWrongTypesInTheEnvelope) {
  const std::string malformedJson = "Prometheus query returned malformed JSON";
  const std::string instant = " result; metricsQuery must produce an instant vector";
  expectFailures({
      {"5", malformedJson},
      {R"("x")", malformedJson},
      {"null", malformedJson},
      {R"({"status":"success"} {})", malformedJson},
      {R"({"status":"success","data":{"resultType":"vector","result":[]})", malformedJson},
      {R"({"status":1,"data":{}})", R"(Prometheus query failed: HTTP 200: {"status":1,"data":{}})"},
      {R"({"status":["success"]})", R"(Prometheus query failed: HTTP 200: {"status":["success"]})"},
      {R"({"status":"success","data":[]})", "Prometheus query response has no data"},
      {R"({"status":"success","data":"x"})", "Prometheus query response has no data"},
      {R"({"status":"success","data":{"resultType":"vector"}})",
       "Prometheus query response has no result"},
      {R"({"status":"success","data":{"result":[]}})",
       "the metrics query returned a missing" + instant},
      {R"({"status":"success","data":{"resultType":7,"result":[]}})",
       "the metrics query returned a missing" + instant},
      {R"({"status":"success","data":{"resultType":"string","result":[1,"x"]}})",
       "the metrics query returned a string" + instant},
      {R"({"status":"success","data":{"resultType":"vector","result":{}}})",
       "malformed vector result"},
      {R"({"status":"success","data":{"resultType":"vector","result":null}})",
       "malformed vector result"},
      {R"({"status":"success","data":{"resultType":"scalar","result":{}}})", kBadPoint},
      {R"({"status":"success","data":{"resultType":"scalar","result":[1,2]}})", kNotString},
      {R"({"status":"success","data":{"resultType":"scalar","result":"1"}})", kBadPoint},
  });
}

TEST(PrometheusParsing, QueryWrongTypesInSamples) {
  expectFailures({
      {vectorOf(R"(1)"), "malformed vector sample"},
      {vectorOf(R"([])"), "malformed vector sample"},
      {vectorOf(R"({"metric":{}})"), "malformed vector sample: no value"},
      {vectorOf(R"({"value":{}})"), kBadPoint},
      {vectorOf(R"({"value":[1]})"), kBadPoint},
      {vectorOf(R"({"value":[1,"2",3]})"), kBadPoint},
      {vectorOf(R"({"value":["1","2"]})"), kBadPoint},
      {vectorOf(R"({"value":[true,"2"]})"), kBadPoint},
      {vectorOf(R"({"value":[null,"2"]})"), kBadPoint},
      {vectorOf(R"({"value":[[1],"2"]})"), kBadPoint},
      {vectorOf(R"({"value":[1,null]})"), kNotString},
      {vectorOf(R"({"value":[1,{"v":"2"}]})"), kNotString},
      {vectorOf(R"({"value":[1,["2"]]})"), kNotString},
      {vectorOf(R"({"value":[1,"2x"]})"), "malformed sample value \"2x\""},
      {vectorOf(R"({"value":[1,""]})"), "malformed sample value \"\""},
      {vectorOf(R"({"metric":{"z":"1","b":null,"a":true},"value":[1,"2"]})"),
       "malformed label value for a"},
      {vectorOf(R"({"metric":{"a":{"b":"c"}},"value":[1,"2"]})"), "malformed label value for a"},
      {vectorOf(R"({"metric":{"a":["b"]},"value":[1,"x"]})"), "malformed label value for a"},
      {vectorOf(R"({"metric":{"a":1},"value":[1]})"), kBadPoint},
      {vectorOf(R"({"value":[1,"1"]},{"value":[1,"x"]},{"value":1})"),
       "malformed sample value \"x\""},
  });
}

TEST(PrometheusParsing, QueryLabelsOfNonObjectMetricAreEmpty) {
  for (const char* metric : {"null", "1", R"("pod")", R"(["pod"])"}) {
    auto v = parseQueryResponse(
        200, vectorOf(std::string(R"({"metric":)") + metric + R"(,"value":[1,"-Inf"]})"));
    ASSERT_EQ(v.size(), 1u) << metric;
    EXPECT_TRUE(v[0].labels.empty());
  }
}

TEST(PrometheusParsing, QueryErrorEnvelopes) {
  // "status" wins over a bad "data", wherever it is.
  QueryFailure f =
      queryFailure(R"({"data":{"resultType":"vector","result":[7]},"errorType":"bad_data",)"
                   R"("error":"parse error","status":"error"})");
  EXPECT_EQ(f.what, "Prometheus query failed: bad_data: parse error (HTTP 200)");
  EXPECT_FALSE(f.unavailable);
  f = queryFailure(R"({"status":"error","errorType":1})");
  EXPECT_EQ(f.what, "Prometheus query failed: error: (no message) (HTTP 200)");
  f = queryFailure(R"({"status":"error","errorType":"timeout","error":"slow"})", 503);
  EXPECT_EQ(f.what, "Prometheus query failed: timeout: slow (HTTP 503)");
  EXPECT_TRUE(f.unavailable);
  f = queryFailure(R"({"status":"error","errorType":"execution","error":"oom"})", 503);
  EXPECT_FALSE(f.unavailable);
  f = queryFailure(vectorOf(R"({"value":[1,"1"]})"), 502);
  EXPECT_EQ(f.what.substr(0, 52), "Prometheus query failed: HTTP 502: {\"status\":\"succes");
  EXPECT_TRUE(f.unavailable);
  f = queryFailure("", 504);
  EXPECT_EQ(f.what, "Prometheus query failed: HTTP 504");
  EXPECT_TRUE(f.unavailable);
  f = queryFailure("<html>bad gateway</html>", 400);
  EXPECT_EQ(f.what, "Prometheus query failed: HTTP 400: <html>bad gateway</html>");
  EXPECT_FALSE(f.unavailable);
}

TEST(PrometheusParsing, QueryErrorSnippetIsTheFirst200Bytes) {
  std::string body = R"({"status":"unknown","data":{"result":[)" + std::string(300, ' ') + "]}}";
  QueryFailure f = queryFailure(body);
  EXPECT_EQ(f.what, "Prometheus query failed: HTTP 200: " + body.substr(0, 200));
}

TEST(PrometheusParsing, QueryReaderErrorsPropagate) {
  std::function<size_t(char*, size_t)> read = [](char*, size_t) -> size_t {
    throw std::runtime_error("connection reset");
  };
  EXPECT_THROW(parseQueryResponse(200, read), std::runtime_error);
}
