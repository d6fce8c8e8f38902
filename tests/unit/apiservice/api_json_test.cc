// The hand-written value lists are byte-for-byte what nlohmann's dump of
// the same document gives, for every string a label can hold.
#include "apiservice/api_json.h"
#include "apiservice/quantity.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace apiservice;
using Json = nlohmann::ordered_json;

namespace {
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
}  // namespace

TEST(ApiJson, MetricValueListsMatchAJsonLibrary) {
  std::vector<ObjectMetricValue> items = {
      {{"Pod", "ns", "web-1", "/v1"}, "m", 1.5, 1700000000123},
      {{"Node", "", "n1.example.com", "/v1"}, "m", 2000, 1700000000123},
      {{"Ingress", "ns", "web", "networking.k8s.io/v1"}, "m", 0.001, 1700000005000}};
  for (const char* v : {"v1beta1", "v1beta2"}) {
    Json want = {{"kind", "MetricValueList"},
                 {"apiVersion", std::string("custom.metrics.k8s.io/") + v},
                 {"metadata", Json::object()},
                 {"items", Json::array()}};
    for (const auto& i : items) {
      Json obj = {{"kind", i.object.kind}};
      if (!i.object.ns.empty()) obj["namespace"] = i.object.ns;
      obj["name"] = i.object.name;
      obj["apiVersion"] = i.object.apiVersion;
      Json item = {{"describedObject", obj}};
      if (std::string(v) == "v1beta1") {
        item["metricName"] = i.metric;
        item["timestamp"] = rfc3339(i.timestampMs);
        item["value"] = decimalQuantity(i.value);
        item["selector"] = nullptr;
      } else {
        item["metric"] = {{"name", i.metric}, {"selector", nullptr}};
        item["timestamp"] = rfc3339(i.timestampMs);
        item["value"] = decimalQuantity(i.value);
      }
      want["items"].push_back(item);
    }
    EXPECT_EQ(metricValueListJson(v, items), dump(want)) << v;
  }
  EXPECT_EQ(
      metricValueListJson("v1beta2", {}),
      R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta2","metadata":{},"items":[]})");
}

TEST(ApiJson, ExternalLabelsAreEscaped) {
  std::map<std::string, std::string> labels = {{"quote", "a\"b"},
                                               {"slash", "c\\d/e"},
                                               {"ctl", std::string("x\x01\n\t\b\f\r\x1f", 8)},
                                               {"unicode", "h\xc3\xa9ll\xe2\x82\xac"},
                                               {"del", "\x7f"},
                                               {"k\"ey", "v"}};
  std::vector<ExternalMetricValue> items = {{"queue", labels, 42, 1700000000000},
                                            {"queue", {}, 7, 1700000000000}};
  Json want = {{"kind", "ExternalMetricValueList"},
               {"apiVersion", "external.metrics.k8s.io/v1beta1"},
               {"metadata", Json::object()},
               {"items", Json::array()}};
  for (const auto& i : items) {
    Json l = Json::object();
    for (const auto& [k, val] : i.labels) l[k] = val;
    Json item = {{"metricName", i.metric},
                 {"metricLabels", l},
                 {"timestamp", rfc3339(i.timestampMs)},
                 {"value", decimalQuantity(i.value)}};
    want["items"].push_back(item);
  }
  std::string got = externalMetricValueListJson(items);
  EXPECT_EQ(got, dump(want));
  EXPECT_EQ(nlohmann::json::parse(got)["items"][0]["metricLabels"]["ctl"], labels["ctl"]);
}
