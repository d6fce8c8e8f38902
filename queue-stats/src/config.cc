#include "queue_stats/config.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "common/duration.h"

namespace queue_stats {

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(join(problems)), problems_(std::move(problems)) {}

namespace {

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  QueueStatsConfig load(const std::string& text) {
    QueueStatsConfig cfg;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      fail(e.mark, "", "invalid YAML: " + e.msg);
      throw ConfigError(problems_);
    }
    if (!root.IsMap()) {
      fail(root.Mark(), "", "the config must be a mapping with interval, kafka and/or sqs");
      throw ConfigError(problems_);
    }
    std::optional<int64_t> staleAfter;
    keys(root, "", {"interval", "kafka", "sqs", "staleAfter"},
         [&](const std::string& k, const YAML::Node& v) {
           if (k == "interval") {
             auto ms = common::parseDurationMillis(scalar(v, "interval"));
             if (!ms || *ms < 1000)
               fail(v.Mark(), "interval", "expected a duration of at least 1s, e.g. 15s");
             else
               cfg.intervalMs = *ms;
           } else if (k == "staleAfter") {
             staleAfter = duration(v, "staleAfter");
           } else if (k == "kafka") {
             if (!v.IsSequence()) return fail(v.Mark(), "kafka", "expected a list of clusters");
             std::set<std::string> names;
             for (size_t i = 0; i < v.size(); ++i) {
               auto c = cluster(v[i], "kafka[" + std::to_string(i) + "]");
               if (!c.name.empty() && !names.insert(c.name).second)
                 fail(v[i].Mark(), "kafka[" + std::to_string(i) + "].name",
                      "duplicate cluster name \"" + c.name + "\"");
               cfg.kafka.push_back(std::move(c));
             }
           } else {
             cfg.sqs = sqs(v);
           }
         });
    if (cfg.kafka.empty() && !cfg.sqs)
      fail(root.Mark(), "", "nothing to collect: add kafka clusters or sqs");
    resolveTimes(root, cfg, staleAfter);
    if (!problems_.empty()) throw ConfigError(problems_);
    return cfg;
  }

 private:
  // A source's own timeout and staleAfter, else the defaults the interval
  // gives: requests wait at most an interval (and 10 s), values go stale
  // after two missed intervals.
  struct SourceTimes {
    std::optional<int64_t> timeout, staleAfter;
    YAML::Mark mark;
    std::string where;
  };

  void resolveTimes(const YAML::Node& root, QueueStatsConfig& cfg,
                    std::optional<int64_t> staleAfter) {
    if (staleAfter && *staleAfter > 0 && *staleAfter < cfg.intervalMs)
      fail(root["staleAfter"].Mark(), "staleAfter", "must be at least the interval");
    auto apply = [&](const SourceTimes& t, int64_t& timeoutMs, int64_t& staleMs) {
      timeoutMs = t.timeout.value_or(std::min<int64_t>(cfg.intervalMs, 10000));
      staleMs = t.staleAfter.value_or(staleAfter.value_or(2 * cfg.intervalMs));
      if (t.staleAfter && *t.staleAfter < cfg.intervalMs)
        fail(t.mark, t.where + ".staleAfter", "must be at least the interval");
    };
    for (size_t i = 0; i < cfg.kafka.size() && i < kafkaTimes_.size(); ++i)
      apply(kafkaTimes_[i], cfg.kafka[i].timeoutMs, cfg.kafka[i].staleAfterMs);
    if (cfg.sqs) apply(sqsTimes_, cfg.sqs->timeoutMs, cfg.sqs->staleAfterMs);
  }

  std::optional<int64_t> duration(const YAML::Node& v, const std::string& at) {
    auto ms = common::parseDurationMillis(scalar(v, at));
    if (!ms || *ms <= 0) {
      fail(v.Mark(), at, "expected a duration such as 10s");
      return std::nullopt;
    }
    return *ms;
  }

  bool boolean(const YAML::Node& v, const std::string& at) {
    std::string s = scalar(v, at);
    if (s != "true" && s != "false") fail(v.Mark(), at, "expected true or false");
    return s == "true";
  }

  void fail(const YAML::Mark& m, const std::string& where, const std::string& what) {
    std::string p = file_;
    if (m.line >= 0) p += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    problems_.push_back(p + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  void keys(const YAML::Node& map, const std::string& ctx, const std::set<std::string>& allowed,
            const std::function<void(const std::string&, const YAML::Node&)>& fn) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      std::string key = k.IsScalar() ? k.Scalar() : "";
      if (!seen.insert(key).second) {
        fail(k.Mark(), ctx, "duplicate key \"" + key + "\"");
        continue;
      }
      if (!allowed.count(key)) {
        std::string known;
        for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
        fail(k.Mark(), ctx, "unknown key \"" + key + "\" (expected one of: " + known + ")");
        continue;
      }
      fn(key, v);
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& ctx) {
    if (!n.IsScalar()) {
      fail(n.Mark(), ctx, "expected a string");
      return "";
    }
    return n.Scalar();
  }

  std::vector<std::string> list(const YAML::Node& n, const std::string& ctx) {
    std::vector<std::string> out;
    if (!n.IsSequence()) {
      fail(n.Mark(), ctx, "expected a list of strings");
      return out;
    }
    for (size_t i = 0; i < n.size(); ++i)
      out.push_back(scalar(n[i], ctx + "[" + std::to_string(i) + "]"));
    return out;
  }

  KafkaClusterConfig cluster(const YAML::Node& n, const std::string& ctx) {
    KafkaClusterConfig c;
    SourceTimes& times = kafkaTimes_.emplace_back(SourceTimes{{}, {}, n.Mark(), ctx});
    if (!n.IsMap()) {
      fail(n.Mark(), ctx, "expected a cluster mapping (name, bootstrapServers, groups, ...)");
      return c;
    }
    keys(n, ctx,
         {"name", "bootstrapServers", "groups", "groupPattern", "topics", "sasl", "tls", "timeout",
          "staleAfter", "lagSeconds"},
         [&](const std::string& k, const YAML::Node& v) {
           std::string at = ctx + "." + k;
           if (k == "name")
             c.name = scalar(v, at);
           else if (k == "bootstrapServers")
             c.bootstrapServers = scalar(v, at);
           else if (k == "groups")
             c.groups = list(v, at);
           else if (k == "topics")
             c.topics = list(v, at);
           else if (k == "groupPattern") {
             c.groupPattern = scalar(v, at);
             RE2 re(c.groupPattern, RE2::Quiet);
             if (!re.ok()) fail(v.Mark(), at, "invalid RE2 regex: " + re.error());
           } else if (k == "timeout") {
             times.timeout = duration(v, at);
           } else if (k == "staleAfter") {
             times.staleAfter = duration(v, at);
           } else if (k == "lagSeconds") {
             c.lagSeconds = boolean(v, at);
           } else if (k == "sasl")
             c.sasl = sasl(v, at);
           else
             c.tls = tls(v, at);
         });
    if (c.name.empty()) fail(n.Mark(), ctx, "name is required (it becomes the cluster label)");
    if (c.bootstrapServers.empty())
      fail(n.Mark(), ctx, "bootstrapServers is required (host:port,...)");
    if (c.groups.empty() && c.groupPattern.empty())
      fail(n.Mark(), ctx, "groups or groupPattern is required: which consumer groups to measure");
    return c;
  }

  SaslConfig sasl(const YAML::Node& n, const std::string& ctx) {
    SaslConfig s;
    if (!n.IsMap()) {
      fail(n.Mark(), ctx, "expected {mechanism, username, passwordFile}");
      return s;
    }
    keys(n, ctx, {"mechanism", "username", "passwordFile"},
         [&](const std::string& k, const YAML::Node& v) {
           (k == "mechanism"  ? s.mechanism
            : k == "username" ? s.username
                              : s.passwordFile) = scalar(v, ctx + "." + k);
         });
    if (s.mechanism != "PLAIN" && s.mechanism != "SCRAM-SHA-256" && s.mechanism != "SCRAM-SHA-512")
      fail(n.Mark(), ctx + ".mechanism", "expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
    if (s.username.empty()) fail(n.Mark(), ctx, "username is required");
    if (s.passwordFile.empty())
      fail(n.Mark(), ctx, "passwordFile is required (the password never goes in the config)");
    return s;
  }

  TlsConfig tls(const YAML::Node& n, const std::string& ctx) {
    TlsConfig t;
    if (!n.IsMap()) {
      fail(n.Mark(), ctx, "expected {caFile, certFile, keyFile, insecureSkipVerify}");
      return t;
    }
    keys(n, ctx, {"caFile", "certFile", "keyFile", "insecureSkipVerify"},
         [&](const std::string& k, const YAML::Node& v) {
           std::string s = scalar(v, ctx + "." + k);
           if (k == "caFile")
             t.caFile = s;
           else if (k == "certFile")
             t.certFile = s;
           else if (k == "keyFile")
             t.keyFile = s;
           else if (s == "true" || s == "false")
             t.insecureSkipVerify = s == "true";
           else
             fail(v.Mark(), ctx + "." + k, "expected true or false");
         });
    if (t.certFile.empty() != t.keyFile.empty())
      fail(n.Mark(), ctx, "certFile and keyFile go together");
    return t;
  }

  SqsConfig sqs(const YAML::Node& n) {
    SqsConfig s;
    sqsTimes_ = SourceTimes{{}, {}, n.Mark(), "sqs"};
    if (!n.IsMap()) {
      fail(n.Mark(), "sqs", "expected a mapping (region, queues, queueNamePrefixes, ...)");
      return s;
    }
    keys(n, "sqs",
         {"region", "endpoint", "queues", "queueNamePrefixes", "concurrency", "caFile", "timeout",
          "staleAfter"},
         [&](const std::string& k, const YAML::Node& v) {
           std::string at = "sqs." + k;
           if (k == "timeout")
             sqsTimes_.timeout = duration(v, at);
           else if (k == "staleAfter")
             sqsTimes_.staleAfter = duration(v, at);
           else if (k == "region")
             s.region = scalar(v, at);
           else if (k == "endpoint")
             s.endpoint = scalar(v, at);
           else if (k == "caFile")
             s.caFile = scalar(v, at);
           else if (k == "queues")
             s.queues = list(v, at);
           else if (k == "queueNamePrefixes")
             s.queueNamePrefixes = list(v, at);
           else {
             std::string c = scalar(v, at);
             if (c.empty() || c.find_first_not_of("0123456789") != std::string::npos ||
                 std::stoi(c) < 1 || std::stoi(c) > 256)
               fail(v.Mark(), at, "expected a number from 1 to 256");
             else
               s.concurrency = std::stoi(c);
           }
         });
    if (s.queues.empty() && s.queueNamePrefixes.empty())
      fail(n.Mark(), "sqs", "queues or queueNamePrefixes is required: which queues to measure");
    if (!s.endpoint.empty() && s.endpoint.rfind("http://", 0) != 0 &&
        s.endpoint.rfind("https://", 0) != 0)
      fail(n.Mark(), "sqs.endpoint", "expected an http:// or https:// URL");
    return s;
  }

  std::string file_;
  std::vector<std::string> problems_;
  std::vector<SourceTimes> kafkaTimes_;  // one per kafka[i]
  SourceTimes sqsTimes_;
};

}  // namespace

QueueStatsConfig parseConfig(const std::string& text, const std::string& file) {
  return Loader(file).load(text);
}

QueueStatsConfig loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError({path + ": cannot read the config file"});
  std::stringstream ss;
  ss << in.rdbuf();
  return parseConfig(ss.str(), path);
}

}  // namespace queue_stats
