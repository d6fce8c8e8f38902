#include "apiservice/api_json.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "apiservice/quantity.h"

namespace apiservice {

using Json = nlohmann::ordered_json;

namespace {

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Json groupVersion(const std::string& group, const std::string& version) {
  return Json{{"groupVersion", group + "/" + version}, {"version", version}};
}

Json apiGroup(const std::string& group) {
  Json j;
  j["name"] = group;
  if (group == kCustomGroup) {
    j["versions"] = Json::array({groupVersion(group, "v1beta2"), groupVersion(group, "v1beta1")});
    j["preferredVersion"] = groupVersion(group, "v1beta2");
  } else {  // external and resource metrics have one version
    j["versions"] = Json::array({groupVersion(group, "v1beta1")});
    j["preferredVersion"] = groupVersion(group, "v1beta1");
  }
  return j;
}

}  // namespace

std::string rfc3339(int64_t unixMillis) {
  std::time_t t = static_cast<std::time_t>(unixMillis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// The value lists are the answers that can hold thousands of items, so
// they are written straight into a string (the same bytes nlohmann's dump
// produces, without a DOM per item). Strings reaching here are valid UTF-8:
// names are validated and label values come from parsed JSON.
void appendString(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void appendField(std::string& out, std::string_view key, std::string_view value,
                 bool comma = true) {
  if (comma) out += ',';
  appendString(out, key);
  out += ':';
  appendString(out, value);
}

// Samples of one query share a timestamp: format each distinct one once.
class TimestampText {
 public:
  const std::string& operator()(int64_t ms) {
    if (ms != last_ || text_.empty()) {
      last_ = ms;
      text_ = rfc3339(ms);
    }
    return text_;
  }

 private:
  int64_t last_ = 0;
  std::string text_;
};

void appendListHead(std::string& out, const char* kind, const std::string& apiVersion) {
  out += "{";
  appendField(out, "kind", kind, false);
  appendField(out, "apiVersion", apiVersion);
  out += ",\"metadata\":{},\"items\":[";
}

}  // namespace

std::string metricValueListJson(const std::string& version,
                                const std::vector<ObjectMetricValue>& items) {
  std::string out;
  out.reserve(160 + items.size() * 260);
  appendListHead(out, "MetricValueList", std::string(kCustomGroup) + "/" + version);
  TimestampText ts;
  bool v1beta1 = version == "v1beta1";
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& v = items[i];
    if (i) out += ',';
    out += "{\"describedObject\":{";
    appendField(out, "kind", v.object.kind, false);
    if (!v.object.ns.empty()) appendField(out, "namespace", v.object.ns);
    appendField(out, "name", v.object.name);
    appendField(out, "apiVersion", v.object.apiVersion);
    out += '}';
    if (v1beta1) {
      appendField(out, "metricName", v.metric);
      appendField(out, "timestamp", ts(v.timestampMs));
      appendField(out, "value", decimalQuantity(v.value));
      out += ",\"selector\":null}";
    } else {
      out += ",\"metric\":{";
      appendField(out, "name", v.metric, false);
      out += ",\"selector\":null}";
      appendField(out, "timestamp", ts(v.timestampMs));
      appendField(out, "value", decimalQuantity(v.value));
      out += '}';
    }
  }
  out += "]}";
  return out;
}

std::string externalMetricValueListJson(const std::vector<ExternalMetricValue>& items) {
  std::string out;
  out.reserve(160 + items.size() * 200);
  appendListHead(out, "ExternalMetricValueList", std::string(kExternalGroup) + "/v1beta1");
  TimestampText ts;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& v = items[i];
    if (i) out += ',';
    out += '{';
    appendField(out, "metricName", v.metric, false);
    out += ",\"metricLabels\":{";
    bool first = true;
    for (const auto& [k, val] : v.labels) {
      appendField(out, k, val, !first);
      first = false;
    }
    out += '}';
    appendField(out, "timestamp", ts(v.timestampMs));
    appendField(out, "value", decimalQuantity(v.value));
    out += '}';
  }
  out += "]}";
  return out;
}

std::string apiGroupListJson(bool resourceMetrics) {
  Json j;
  j["kind"] = "APIGroupList";
  j["apiVersion"] = "v1";
  j["groups"] = Json::array({apiGroup(kCustomGroup), apiGroup(kExternalGroup)});
  if (resourceMetrics) j["groups"].push_back(apiGroup(kResourceGroup));
  return dump(j);
}

std::string apiGroupJson(const std::string& group) {
  Json j;
  j["kind"] = "APIGroup";
  j["apiVersion"] = "v1";
  const Json body = apiGroup(group);
  for (const auto& [k, v] : body.items()) j[k] = v;
  return dump(j);
}

namespace {
Json resourceEntry(const std::string& name, bool namespaced, const char* kind,
                   Json verbs = Json::array({"get"})) {
  return Json{{"name", name},
              {"singularName", ""},
              {"namespaced", namespaced},
              {"kind", kind},
              {"verbs", std::move(verbs)}};
}

Json objectMeta(const std::string& ns, const std::string& name,
                const std::map<std::string, std::string>& labels, int64_t nowMs) {
  Json m;
  m["name"] = name;
  if (!ns.empty()) m["namespace"] = ns;
  m["creationTimestamp"] = rfc3339(nowMs);
  if (!labels.empty()) m["labels"] = labels;
  return m;
}

Json usage(std::optional<double> cpu, std::optional<double> memory) {
  Json u = Json::object();
  if (cpu) u["cpu"] = decimalQuantity(*cpu);
  if (memory) u["memory"] = binaryQuantity(*memory);
  return u;
}

Json nodeItem(const NodeMetricsItem& n, int64_t nowMs) {
  Json j;
  j["metadata"] = objectMeta("", n.name, n.labels, nowMs);
  j["timestamp"] = rfc3339(n.timestampMs);
  j["window"] = goDurationString(n.windowSeconds);
  j["usage"] = usage(n.cpuCores, n.memoryBytes);
  return j;
}

Json podItem(const PodMetricsItem& p, int64_t nowMs) {
  Json j;
  j["metadata"] = objectMeta(p.ns, p.name, p.labels, nowMs);
  j["timestamp"] = rfc3339(p.timestampMs);
  j["window"] = goDurationString(p.windowSeconds);
  Json containers = Json::array();
  for (const auto& c : p.containers)
    containers.push_back(Json{{"name", c.name}, {"usage", usage(c.cpuCores, c.memoryBytes)}});
  j["containers"] = std::move(containers);
  return j;
}

template <class Item, class F>
std::string metricsList(const char* kind, const std::vector<Item>& items, F&& item) {
  Json j;
  j["kind"] = kind;
  j["apiVersion"] = std::string(kResourceGroup) + "/v1beta1";
  j["metadata"] = Json::object();
  Json list = Json::array();
  for (const auto& i : items) list.push_back(item(i));
  j["items"] = std::move(list);
  return dump(j);
}

std::string metricsObject(const char* kind, Json body) {
  Json j;
  j["kind"] = kind;
  j["apiVersion"] = std::string(kResourceGroup) + "/v1beta1";
  for (auto& [k, v] : body.items()) j[k] = std::move(v);
  return dump(j);
}
}  // namespace

std::string goDurationString(int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string out;
  int64_t h = seconds / 3600, m = (seconds % 3600) / 60, s = seconds % 60;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  return out + std::to_string(s) + "s";
}

std::string resourceMetricsResourceListJson() {
  Json j;
  j["kind"] = "APIResourceList";
  j["apiVersion"] = "v1";
  j["groupVersion"] = std::string(kResourceGroup) + "/v1beta1";
  j["resources"] =
      Json::array({resourceEntry("nodes", false, "NodeMetrics", Json::array({"get", "list"})),
                   resourceEntry("pods", true, "PodMetrics", Json::array({"get", "list"}))});
  return dump(j);
}

std::string nodeMetricsJson(const NodeMetricsItem& item, int64_t nowMs) {
  return metricsObject("NodeMetrics", nodeItem(item, nowMs));
}
std::string nodeMetricsListJson(const std::vector<NodeMetricsItem>& items, int64_t nowMs) {
  return metricsList("NodeMetricsList", items, [&](const auto& i) { return nodeItem(i, nowMs); });
}
std::string podMetricsJson(const PodMetricsItem& item, int64_t nowMs) {
  return metricsObject("PodMetrics", podItem(item, nowMs));
}
std::string podMetricsListJson(const std::vector<PodMetricsItem>& items, int64_t nowMs) {
  return metricsList("PodMetricsList", items, [&](const auto& i) { return podItem(i, nowMs); });
}

std::string customResourceListJson(const std::string& version,
                                   const std::vector<CustomMetricDescriptor>& metrics) {
  Json j;
  j["kind"] = "APIResourceList";
  j["apiVersion"] = "v1";
  j["groupVersion"] = std::string(kCustomGroup) + "/" + version;
  Json list = Json::array();
  for (const auto& m : metrics)
    list.push_back(resourceEntry(m.resource + "/" + m.metric, m.namespaced, "MetricValueList"));
  j["resources"] = std::move(list);
  return dump(j);
}

std::string externalResourceListJson(const std::vector<std::string>& metrics) {
  Json j;
  j["kind"] = "APIResourceList";
  j["apiVersion"] = "v1";
  j["groupVersion"] = std::string(kExternalGroup) + "/v1beta1";
  Json list = Json::array();
  for (const auto& m : metrics) list.push_back(resourceEntry(m, true, "ExternalMetricValueList"));
  j["resources"] = std::move(list);
  return dump(j);
}

std::string openApiJson(const std::string& version) {
  auto param = [](const char* name, const char* in, const char* desc, bool required) {
    return Json{{"name", name},
                {"in", in},
                {"description", desc},
                {"required", required},
                {"type", "string"}};
  };
  auto getOp = [&](const char* id, const char* ref, std::vector<Json> params) {
    Json op;
    op["operationId"] = id;
    op["produces"] = Json::array({"application/json"});
    op["schemes"] = Json::array({"https"});
    op["parameters"] = std::move(params);
    op["responses"] = Json{{"200", Json{{"description", "OK"}, {"schema", Json{{"$ref", ref}}}}},
                           {"401", Json{{"description", "Unauthorized"}}}};
    return Json{{"get", op}};
  };
  Json paths;
  for (const char* v : {"v1beta1", "v1beta2"}) {
    std::string base = std::string("/apis/") + kCustomGroup + "/" + v;
    std::string ref = std::string("#/definitions/io.k8s.metrics.pkg.apis.custom_metrics.") + v +
                      ".MetricValueList";
    std::vector<Json> common = {
        param("labelSelector", "query", "A selector on the described objects' labels.", false),
        param("metricLabelSelector", "query", "A selector on the metric's labels.", false)};
    auto with = [&](std::vector<Json> extra) {
      extra.insert(extra.end(), common.begin(), common.end());
      return extra;
    };
    Json nsP = param("namespace", "path", "The object's namespace.", true);
    Json resP = param("resource", "path", "The described resource, e.g. pods.", true);
    Json nameP = param("name", "path", "The object name, or * for every object.", true);
    Json metricP = param("metric", "path", "The metric name.", true);
    paths[base + "/namespaces/{namespace}/{resource}/{name}/{metric}"] =
        getOp((std::string("getNamespacedObjectMetric_") + v).c_str(), ref.c_str(),
              with({nsP, resP, nameP, metricP}));
    paths[base + "/{resource}/{name}/{metric}"] =
        getOp((std::string("getClusterObjectMetric_") + v).c_str(), ref.c_str(),
              with({resP, nameP, metricP}));
    paths[base + "/namespaces/{namespace}/metrics/{metric}"] =
        getOp((std::string("getNamespaceMetric_") + v).c_str(), ref.c_str(), with({nsP, metricP}));
  }
  paths[std::string("/apis/") + kExternalGroup + "/v1beta1/namespaces/{namespace}/{metric}"] =
      getOp(
          "getExternalMetric",
          "#/definitions/io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList",
          {param("namespace", "path", "The namespace.", true),
           param("metric", "path", "The metric name.", true),
           param("labelSelector", "query", "A selector on the metric's labels.", false)});
  Json defs;
  Json listSchema =
      Json{{"type", "object"},
           {"required", Json::array({"items"})},
           {"properties",
            Json{{"apiVersion", Json{{"type", "string"}}},
                 {"kind", Json{{"type", "string"}}},
                 {"metadata", Json{{"type", "object"}}},
                 {"items", Json{{"type", "array"}, {"items", Json{{"type", "object"}}}}}}}};
  for (const char* v : {"v1beta1", "v1beta2"}) {
    Json s = listSchema;
    s["x-kubernetes-group-version-kind"] =
        Json::array({Json{{"group", kCustomGroup}, {"version", v}, {"kind", "MetricValueList"}}});
    defs[std::string("io.k8s.metrics.pkg.apis.custom_metrics.") + v + ".MetricValueList"] = s;
  }
  Json e = listSchema;
  e["x-kubernetes-group-version-kind"] = Json::array({Json{
      {"group", kExternalGroup}, {"version", "v1beta1"}, {"kind", "ExternalMetricValueList"}}});
  defs["io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList"] = e;
  Json j;
  j["swagger"] = "2.0";
  j["info"] = Json{{"title", "metrics-adapter"}, {"version", version}};
  j["paths"] = std::move(paths);
  j["definitions"] = std::move(defs);
  return dump(j);
}

std::string versionJson(const std::string& version) {
  Json j;
  auto dot1 = version.find('.');
  auto dot2 = version.find('.', dot1 + 1);
  j["major"] = version.substr(1, dot1 - 1);
  j["minor"] = version.substr(dot1 + 1, dot2 - dot1 - 1);
  j["gitVersion"] = version;
  j["gitCommit"] = "";
  j["gitTreeState"] = "";
  j["buildDate"] = "";
  j["goVersion"] = "";
  j["compiler"] = "gcc";
  j["platform"] = "linux/amd64";
  return dump(j);
}

}  // namespace apiservice
