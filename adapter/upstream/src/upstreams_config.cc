#include "adapter/upstream/upstreams_config.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "common/duration.h"
#include "common/file_stamp.h"

namespace adapter {

namespace {

// Every problem is fatal at startup; the first one is reported with where
// it is.
class EntryReader {
 public:
  EntryReader(std::string file, std::string defaultToken)
      : file_(std::move(file)), defaultToken_(std::move(defaultToken)) {}

  [[noreturn]] void fail(const YAML::Mark& m, const std::string& field,
                         const std::string& msg) const {
    std::string where = file_;
    if (m.line >= 0) where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    throw std::invalid_argument(where + ": " + (field.empty() ? "" : field + ": ") + msg);
  }

  UpstreamOptions read(const YAML::Node& n, const std::string& at) const {
    static const std::set<std::string> known{"url",      "api",     "caFile", "tokenFile",
                                             "certFile", "keyFile", "timeout"};
    if (!n.IsMap()) fail(n.Mark(), at, "expected a mapping with url and api");
    for (const auto& kv : n) {
      auto key = kv.first.as<std::string>();
      if (!known.count(key)) {
        fail(kv.first.Mark(), at + "." + key,
             "unknown field (known: url, api, caFile, tokenFile, certFile, keyFile, timeout)");
      }
    }
    UpstreamOptions o;
    o.url = text(n, "url", at, /*required=*/true);
    if (o.url.rfind("https://", 0) != 0)
      fail(n["url"].Mark(), at + ".url", "must be an https:// URL");
    std::string api = text(n, "api", at, /*required=*/true);
    if (api != "external" && api != "custom")
      fail(n["api"].Mark(), at + ".api", "must be external or custom");
    o.api = api == "custom" ? apiservice::MetricsApi::Custom : apiservice::MetricsApi::External;
    o.tls.caFile = text(n, "caFile", at);
    o.tls.certFile = text(n, "certFile", at);
    o.tls.keyFile = text(n, "keyFile", at);
    if (o.tls.certFile.empty() != o.tls.keyFile.empty())
      fail(n.Mark(), at, "certFile and keyFile go together");
    o.tokenFile = n["tokenFile"] ? text(n, "tokenFile", at) : defaultToken_;
    if (auto t = text(n, "timeout", at); !t.empty()) {
      auto ms = common::parseDurationMillis(t);
      if (!ms || *ms <= 0)
        fail(n["timeout"].Mark(), at + ".timeout", "expected a duration such as 5s");
      o.timeout = std::chrono::milliseconds(*ms);
    }
    return o;
  }

 private:
  std::string text(const YAML::Node& n, const std::string& key, const std::string& at,
                   bool required = false) const {
    auto v = n[key];
    if (!v) {
      if (required) fail(n.Mark(), at + "." + key, "required");
      return "";
    }
    if (!v.IsScalar()) fail(v.Mark(), at + "." + key, "expected a string");
    return v.as<std::string>();
  }
  std::string file_;
  std::string defaultToken_;
};

std::vector<UpstreamOptions> readUpstreams(const EntryReader& reader, const YAML::Node& root) {
  if (!root.IsMap() || !root["upstreams"] || !root["upstreams"].IsSequence())
    reader.fail(root.Mark(), "upstreams", "expected a mapping with an upstreams: list");
  for (const auto& kv : root)
    if (kv.first.as<std::string>() != "upstreams")
      reader.fail(kv.first.Mark(), kv.first.as<std::string>(), "unknown field (known: upstreams)");
  std::vector<UpstreamOptions> out;
  const YAML::Node list = root["upstreams"];
  for (size_t i = 0; i < list.size(); ++i)
    out.push_back(reader.read(list[i], "upstreams[" + std::to_string(i) + "]"));
  if (out.empty()) reader.fail(list.Mark(), "upstreams", "lists no upstream");
  return out;
}

}  // namespace

std::vector<UpstreamOptions> parseUpstreamsConfig(const std::string& text, const std::string& file,
                                                  const std::string& defaultTokenFile) {
  EntryReader reader(file, defaultTokenFile);
  try {
    return readUpstreams(reader, YAML::Load(text));
  } catch (const YAML::Exception& e) {
    reader.fail(e.mark, "", "invalid YAML: " + e.msg);
  }
}

std::vector<UpstreamOptions> loadUpstreamsConfig(const std::string& path,
                                                 const std::string& defaultTokenFile) {
  auto text = common::readWholeFile(path);
  if (!text) throw std::invalid_argument("--upstreams-config: cannot read " + path);
  return parseUpstreamsConfig(*text, path, defaultTokenFile);
}

}  // namespace adapter
