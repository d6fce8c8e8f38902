#include "adapter/prometheus/prometheus_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <istream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "common/json_fields.h"
#include "common/reader_streambuf.h"

namespace adapter {

using nlohmann::json;

namespace {

constexpr const char* kQuery = "Prometheus query";
constexpr size_t kSnippetBytes = 200;

// Prometheus' error envelope: {"status":"error","errorType":"...","error":"..."}.
struct ErrorEnvelope {
  bool present = false;  // an object with "status":"error"
  std::optional<std::string> errorType, error;
};

// Error bodies are small, so a DOM is fine here.
ErrorEnvelope envelopeOf(std::string_view body) {
  ErrorEnvelope env;
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || common::jsonString(j, "status") != "error") return env;
  env.present = true;
  if (auto it = j.find("errorType"); it != j.end() && it->is_string()) env.errorType = *it;
  if (auto it = j.find("error"); it != j.end() && it->is_string()) env.error = *it;
  return env;
}

// `body` only needs its first kSnippetBytes when `env` comes from elsewhere.
[[noreturn]] void throwApiError(int httpStatus, const ErrorEnvelope& env, std::string_view body,
                                const char* what) {
  if (env.present) {
    std::string type = env.errorType.value_or("error");
    throw BackendError(std::string(what) + " failed: " + type + ": " +
                           env.error.value_or("(no message)") + " (HTTP " +
                           std::to_string(httpStatus) + ")",
                       httpStatus >= 500 && type != "execution");
  }
  std::string snippet(body.substr(0, kSnippetBytes));
  throw BackendError(std::string(what) + " failed: HTTP " + std::to_string(httpStatus) +
                         (snippet.empty() ? "" : ": " + snippet),
                     httpStatus >= 500);
}

[[noreturn]] void throwApiError(int httpStatus, std::string_view body, const char* what) {
  throwApiError(httpStatus, envelopeOf(body), body, what);
}

// An error answer from a reader, capped: it only feeds a message.
std::string readErrorBody(const std::function<size_t(char*, size_t)>& read) {
  std::string body;
  char buf[4096];
  while (size_t n = read(buf, sizeof buf)) {
    body.append(buf, n);
    if (body.size() > 65536) break;
  }
  return body;
}

// False when `s` is not a number Prometheus writes.
bool parseSampleValue(const std::string& s, double& out) {
  char* end = nullptr;
  if (s == "NaN") {
    out = std::nan("");
  } else if (s == "+Inf" || s == "Inf") {
    out = INFINITY;
  } else if (s == "-Inf") {
    out = -INFINITY;
  } else {
    out = std::strtod(s.c_str(), &end);
    return end != s.c_str() && *end == '\0';
  }
  return true;
}

enum class Kind { Object, Array, String, Number, Other };

// A [timestamp, "value"] pair, seen one element at a time.
struct PointState {
  bool isArray = false;
  size_t count = 0;
  bool tsIsNumber = false;
  double ts = 0;
  bool valueIsString = false;
  std::string value;

  void element(Kind kind, std::string* str, double num) {
    if (count == 0 && kind == Kind::Number) {
      tsIsNumber = true;
      ts = num;
    }
    if (count == 1 && kind == Kind::String) {
      valueIsString = true;
      value = std::move(*str);
    }
    ++count;
  }
};

// One vector element while it is being read.
struct SampleDraft {
  bool hasValue = false;
  PointState point;
  std::map<std::string, std::string> labels;
  std::set<std::string> badLabels;  // ordered: the first one is reported
};

// Empty on success, else the error; checks run in the order the answer's
// DOM was once checked in, so messages stay the same.
std::string finishSample(SampleDraft& d, Sample& out) {
  const PointState& p = d.point;
  if (!p.isArray || p.count != 2 || !p.tsIsNumber) {
    return "malformed sample (expected [timestamp, \"value\"])";
  }
  if (!d.badLabels.empty()) return "malformed label value for " + *d.badLabels.begin();
  if (!p.valueIsString) return "malformed sample value (expected a string)";
  if (!parseSampleValue(p.value, out.value)) return "malformed sample value \"" + p.value + "\"";
  out.labels = std::move(d.labels);
  out.timestampMs = std::llround(p.ts * 1000.0);
  return "";
}

void setIfString(std::optional<std::string>& field, Kind kind, std::string* str) {
  if (kind == Kind::String) {
    field = std::move(*str);
  } else {
    field.reset();  // a repeated key wins, as in a DOM
  }
}

// SAX handler for a /api/v1/query answer. Keys may come in any order and
// errors may precede "status", so it records what it saw (samples, the
// first bad one) and decides only in result(). Unknown members are skipped.
class QuerySax : public json::json_sax_t {
 public:
  bool null() override { return value(Kind::Other); }
  bool boolean(bool) override { return value(Kind::Other); }
  bool number_integer(number_integer_t v) override { return number(static_cast<double>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return number(v); }
  bool binary(binary_t&) override { return value(Kind::Other); }
  bool string(string_t& val) override { return value(Kind::String, &val); }
  bool start_object(std::size_t) override { return open(Kind::Object); }
  bool start_array(std::size_t) override { return open(Kind::Array); }
  bool key(string_t& val) override {
    key_ = val;
    return true;
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

  std::vector<Sample> result(bool parsed, std::string_view head);

 private:
  enum class Role { Root, Top, Data, Result, Sample, Metric, Point, Skip };

  bool value(Kind kind, std::string* str = nullptr, double num = 0) {
    onValue(kind, str, num);
    return true;
  }
  bool number(double num) { return value(Kind::Number, nullptr, num); }
  bool open(Kind kind) {
    stack_.push_back(onValue(kind, nullptr, 0));
    return true;
  }
  bool close() {
    Role done = stack_.back();
    stack_.pop_back();
    if (done == Role::Sample) endSample();
    return true;
  }

  Role onValue(Kind kind, std::string* str, double num);
  Role topValue(Kind kind, std::string* str);
  Role dataValue(Kind kind, std::string* str);
  Role resultElement(Kind kind, std::string* str, double num);
  Role sampleValue(Kind kind);
  Role labelValue(Kind kind, std::string* str);
  void resetData();
  void endSample();
  std::vector<Sample> scalarResult();

  std::vector<Role> stack_;
  std::string key_;
  bool topIsObject_ = false;
  std::optional<std::string> status_, errorType_, error_;
  bool hasData_ = false, dataIsObject_ = false, hasResult_ = false;
  std::optional<std::string> resultType_;
  // "result" read both ways, as resultType may come after it.
  bool resultIsArray_ = false;
  PointState asScalar_;
  std::vector<Sample> samples_;
  std::string vectorError_;  // the first bad element; later ones are skipped
  SampleDraft draft_;
};

QuerySax::Role QuerySax::onValue(Kind kind, std::string* str, double num) {
  switch (stack_.empty() ? Role::Root : stack_.back()) {
    case Role::Root:
      topIsObject_ = kind == Kind::Object;
      return topIsObject_ ? Role::Top : Role::Skip;
    case Role::Top:
      return topValue(kind, str);
    case Role::Data:
      return dataValue(kind, str);
    case Role::Result:
      return resultElement(kind, str, num);
    case Role::Sample:
      return sampleValue(kind);
    case Role::Metric:
      return labelValue(kind, str);
    case Role::Point:
      draft_.point.element(kind, str, num);
      return Role::Skip;
    case Role::Skip:
      break;
  }
  return Role::Skip;
}

QuerySax::Role QuerySax::topValue(Kind kind, std::string* str) {
  if (key_ == "data") {
    resetData();
    hasData_ = true;
    dataIsObject_ = kind == Kind::Object;
    return dataIsObject_ ? Role::Data : Role::Skip;
  }
  if (key_ == "status") setIfString(status_, kind, str);
  if (key_ == "errorType") setIfString(errorType_, kind, str);
  if (key_ == "error") setIfString(error_, kind, str);
  return Role::Skip;
}

QuerySax::Role QuerySax::dataValue(Kind kind, std::string* str) {
  if (key_ == "resultType") setIfString(resultType_, kind, str);
  if (key_ != "result") return Role::Skip;
  hasResult_ = true;
  resultIsArray_ = kind == Kind::Array;
  asScalar_ = PointState();
  asScalar_.isArray = resultIsArray_;
  samples_.clear();
  vectorError_.clear();
  return resultIsArray_ ? Role::Result : Role::Skip;
}

QuerySax::Role QuerySax::resultElement(Kind kind, std::string* str, double num) {
  asScalar_.element(kind, str, num);
  if (!vectorError_.empty()) return Role::Skip;
  if (kind != Kind::Object) {
    vectorError_ = "malformed vector sample";
    return Role::Skip;
  }
  draft_ = SampleDraft();
  return Role::Sample;
}

QuerySax::Role QuerySax::sampleValue(Kind kind) {
  if (key_ == "metric") {
    draft_.labels.clear();  // a repeated "metric" replaces the first
    draft_.badLabels.clear();
    return kind == Kind::Object ? Role::Metric : Role::Skip;  // a non-object means no labels
  }
  if (key_ != "value") return Role::Skip;
  draft_.hasValue = true;
  draft_.point = PointState();
  draft_.point.isArray = kind == Kind::Array;
  return kind == Kind::Array ? Role::Point : Role::Skip;
}

QuerySax::Role QuerySax::labelValue(Kind kind, std::string* str) {
  if (kind == Kind::String) {
    draft_.badLabels.erase(key_);
    draft_.labels.insert_or_assign(key_, std::move(*str));
  } else {
    draft_.labels.erase(key_);
    draft_.badLabels.insert(key_);
  }
  return Role::Skip;
}

void QuerySax::resetData() {
  hasResult_ = false;
  resultType_.reset();
  resultIsArray_ = false;
  samples_.clear();
  vectorError_.clear();
}

void QuerySax::endSample() {
  if (!draft_.hasValue) {
    vectorError_ = "malformed vector sample: no value";
    return;
  }
  Sample s;
  vectorError_ = finishSample(draft_, s);
  if (vectorError_.empty()) samples_.push_back(std::move(s));
}

std::vector<Sample> QuerySax::scalarResult() {
  SampleDraft d;
  d.point = std::move(asScalar_);
  Sample s;
  if (std::string err = finishSample(d, s); !err.empty()) throw BackendError(err);
  return {std::move(s)};
}

// `head` is the answer's first bytes, for the message of a non-success status.
std::vector<Sample> QuerySax::result(bool parsed, std::string_view head) {
  if (!parsed || !topIsObject_) throw BackendError("Prometheus query returned malformed JSON");
  if (status_ != "success") {
    throwApiError(200, {status_ == "error", errorType_, error_}, head, kQuery);
  }
  if (!hasData_ || !dataIsObject_) throw BackendError("Prometheus query response has no data");
  if (!hasResult_) throw BackendError("Prometheus query response has no result");
  std::string typeName = resultType_.value_or("missing");
  if (typeName == "scalar") return scalarResult();
  if (typeName != "vector") {
    throw BackendError("the metrics query returned a " + typeName +
                       " result; metricsQuery must produce an instant vector");
  }
  if (!resultIsArray_) throw BackendError("malformed vector result");
  if (!vectorError_.empty()) throw BackendError(vectorError_);
  return std::move(samples_);
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
  if (httpStatus != 200) throwApiError(httpStatus, body, kQuery);
  QuerySax sax;
  bool parsed = json::sax_parse(body, &sax);
  return sax.result(parsed, body.substr(0, kSnippetBytes));
}

std::vector<Sample> parseQueryResponse(int httpStatus,
                                       const std::function<size_t(char*, size_t)>& read) {
  if (httpStatus != 200) throwApiError(httpStatus, readErrorBody(read), kQuery);
  std::string head;  // kept for the message when "status" is not "success"
  common::BodyReadFn teeRead = [&](char* buf, size_t len) {
    size_t n = read(buf, len);
    head.append(buf, std::min(n, kSnippetBytes - std::min(head.size(), kSnippetBytes)));
    return n;
  };
  common::ReaderStreamBuf sb(teeRead);
  std::istream in(&sb);
  QuerySax sax;
  bool parsed = json::sax_parse(in, &sax, json::input_format_t::json, true);
  return sax.result(parsed, head);
}

void parseSeriesResponse(int httpStatus, const std::function<size_t(char*, size_t)>& read,
                         const SeriesVisitor& visit) {
  if (httpStatus != 200)
    throwApiError(httpStatus, readErrorBody(read), "Prometheus series discovery");
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
