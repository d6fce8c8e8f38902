#include "adapter/prometheus/prometheus_json.h"

#include <cmath>
#include <cstdio>
#include <istream>
#include <nlohmann/json.hpp>

#include "common/json_fields.h"
#include "common/reader_streambuf.h"

namespace adapter {

using nlohmann::json;

namespace {

// Prometheus' error envelope: {"status":"error","errorType":"...","error":"..."}.
[[noreturn]] void throwApiError(int httpStatus, std::string_view body, const char* what) {
  std::string detail;
  try {
    json j = json::parse(body);
    if (j.is_object() && common::jsonString(j, "status") == "error") {
      throw BackendError(std::string(what) +
                             " failed: " + common::jsonString(j, "errorType", "error") + ": " +
                             common::jsonString(j, "error", "(no message)") + " (HTTP " +
                             std::to_string(httpStatus) + ")",
                         httpStatus >= 500 && common::jsonString(j, "errorType") != "execution");
    }
  } catch (const json::exception&) {
  }
  std::string snippet(body.substr(0, 200));
  throw BackendError(std::string(what) + " failed: HTTP " + std::to_string(httpStatus) +
                         (snippet.empty() ? "" : ": " + snippet),
                     httpStatus >= 500);
}

double parseSampleValue(const json& v) {
  if (!v.is_string()) throw BackendError("malformed sample value (expected a string)");
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "NaN") return std::nan("");
  if (s == "+Inf" || s == "Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') throw BackendError("malformed sample value \"" + s + "\"");
  return d;
}

Sample parsePoint(const json& metric, const json& point) {
  if (!point.is_array() || point.size() != 2 || !point[0].is_number()) {
    throw BackendError("malformed sample (expected [timestamp, \"value\"])");
  }
  Sample s;
  if (metric.is_object()) {
    for (const auto& [k, v] : metric.items()) {
      if (!v.is_string()) throw BackendError("malformed label value for " + k);
      s.labels[k] = v.get<std::string>();
    }
  }
  s.timestampMs = std::llround(point[0].get<double>() * 1000.0);
  s.value = parseSampleValue(point[1]);
  return s;
}

// SAX handler for {"status":"success","data":[{label:value,...},...]}: hands
// each series over as soon as its object closes; keeps nothing else.
class SeriesSax : public json::json_sax_t {
 public:
  explicit SeriesSax(const SeriesVisitor& visit) : visit_(visit) {}
  bool null() override { return scalar(); }
  bool boolean(bool) override { return scalar(); }
  bool number_integer(number_integer_t) override { return scalar(); }
  bool number_unsigned(number_unsigned_t) override { return scalar(); }
  bool number_float(number_float_t, const string_t&) override { return scalar(); }
  bool binary(binary_t&) override { return scalar(); }
  bool string(string_t& val) override {
    if (depth_ == 1 && key_ == "status") status_ = val;
    if (depth_ == 1 && key_ == "errorType") errorType_ = val;
    if (depth_ == 1 && key_ == "error") error_ = val;
    if (inSeries()) {
      if (key_ == "__name__") name_ = val;
    }
    return true;
  }
  bool start_object(std::size_t) override {
    ++depth_;
    if (inSeries()) {
      labels_.clear();
      name_.clear();
    }
    return true;
  }
  bool key(string_t& val) override {
    key_ = val;
    if (inSeries()) labels_.push_back(val);
    return true;
  }
  bool end_object() override {
    if (inSeries()) {
      visit_(name_, labels_);
      ++count_;
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 1 && key_ == "data") inData_ = true;
    ++arrayDepth_;
    return true;
  }
  bool end_array() override {
    --arrayDepth_;
    if (arrayDepth_ == 0) inData_ = false;
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    throw BackendError("malformed /api/v1/series response at byte " + std::to_string(pos) + ": " +
                       ex.what());
  }
  const std::string& status() const { return status_; }
  const std::string& errorType() const { return errorType_; }
  const std::string& error() const { return error_; }

 private:
  bool inSeries() const { return inData_ && depth_ == 2 && arrayDepth_ == 1; }
  bool scalar() { return true; }
  const SeriesVisitor& visit_;
  int depth_ = 0;
  int arrayDepth_ = 0;
  bool inData_ = false;
  std::string key_, status_, errorType_, error_, name_;
  std::vector<std::string> labels_;
  size_t count_ = 0;
};

}  // namespace

std::vector<Sample> parseQueryResponse(int httpStatus, std::string_view body) {
  if (httpStatus != 200) throwApiError(httpStatus, body, "Prometheus query");
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw BackendError("Prometheus query returned malformed JSON");
  auto status = j.find("status");
  if (status == j.end() || *status != "success")
    throwApiError(httpStatus, body, "Prometheus query");
  auto data = j.find("data");
  if (data == j.end() || !data->is_object())
    throw BackendError("Prometheus query response has no data");
  auto type = data->find("resultType");
  auto result = data->find("result");
  std::string typeName =
      type != data->end() && type->is_string() ? type->get<std::string>() : "missing";
  if (result == data->end()) throw BackendError("Prometheus query response has no result");
  std::vector<Sample> out;
  if (typeName == "vector") {
    if (!result->is_array()) throw BackendError("malformed vector result");
    out.reserve(result->size());
    static const json kNoLabels = json::object();
    for (const auto& r : *result) {
      if (!r.is_object()) throw BackendError("malformed vector sample");
      auto value = r.find("value");
      if (value == r.end()) throw BackendError("malformed vector sample: no value");
      auto metric = r.find("metric");
      out.push_back(parsePoint(metric == r.end() ? kNoLabels : *metric, *value));
    }
  } else if (typeName == "scalar") {
    out.push_back(parsePoint(json::object(), *result));
  } else {
    throw BackendError("the metrics query returned a " + typeName +
                       " result; metricsQuery must produce an instant vector");
  }
  return out;
}

void parseSeriesResponse(int httpStatus, const std::function<size_t(char*, size_t)>& read,
                         const SeriesVisitor& visit) {
  if (httpStatus != 200) {
    std::string body;
    char buf[4096];
    while (size_t n = read(buf, sizeof buf)) {
      body.append(buf, n);
      if (body.size() > 65536) break;
    }
    throwApiError(httpStatus, body, "Prometheus series discovery");
  }
  common::ReaderStreamBuf sb(read);
  std::istream in(&sb);
  SeriesSax sax(visit);
  bool ok = json::sax_parse(in, &sax, json::input_format_t::json, true);
  if (!ok) throw BackendError("malformed /api/v1/series response");
  if (sax.status() != "success") {
    throw BackendError("Prometheus series discovery failed: " + sax.errorType() + ": " +
                       sax.error());
  }
}

}  // namespace adapter
