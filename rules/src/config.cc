#include "rules/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "common/duration.h"

namespace rules {

std::string Diagnostic::str() const {
  std::string out = file;
  if (pos.line > 0) out += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  out += ": ";
  if (!context.empty()) out += context + ": ";
  return out + message;
}

namespace {
std::string joinDiagnostics(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) {
    if (!out.empty()) out += "\n";
    out += d.str();
  }
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diags)
    : std::runtime_error(joinDiagnostics(diags)), diags_(std::move(diags)) {}

namespace {

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  Config load(const std::string& text) {
    Config cfg;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      error(pos(e.mark), "", "invalid YAML: " + e.msg);
      throw ConfigError(diags_);
    }
    if (root.IsNull()) {
      error({1, 1}, "",
            "the config is empty: expected a mapping with rules, externalRules or resourceRules");
      throw ConfigError(diags_);
    }
    if (!root.IsMap()) {
      error(pos(root.Mark()), "",
            "the config must be a mapping with rules, externalRules or resourceRules");
      throw ConfigError(diags_);
    }
    forEachKey(root, "", {"rules", "externalRules", "resourceRules"},
               [&](const std::string& key, const YAML::Node& v) {
                 if (key == "rules")
                   cfg.rules = ruleList(v, "rules");
                 else if (key == "externalRules")
                   cfg.externalRules = ruleList(v, "externalRules");
                 else
                   cfg.resourceRules = resourceRules(v);
               });
    if (!diags_.empty()) throw ConfigError(diags_);
    return cfg;
  }

 private:
  static SourcePos pos(const YAML::Mark& m) {
    if (m.line < 0) return {};
    return {m.line + 1, m.column + 1};
  }
  void error(SourcePos p, const std::string& ctx, const std::string& msg) {
    diags_.push_back({file_, p, ctx, msg});
  }

  // Visits each key of a mapping, reporting unknown and duplicate keys.
  void forEachKey(const YAML::Node& map, const std::string& ctx,
                  const std::set<std::string>& allowed,
                  const std::function<void(const std::string&, const YAML::Node&)>& fn) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      // yaml-cpp's iterator yields temporaries: copy the (cheap) node handles.
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      if (!k.IsScalar()) {
        error(pos(k.Mark()), ctx, "keys must be strings");
        continue;
      }
      std::string key = k.Scalar();
      std::string where = ctx.empty() ? key : ctx + "." + key;
      if (!seen.insert(key).second) {
        error(pos(k.Mark()), ctx, "duplicate key \"" + key + "\"");
        continue;
      }
      if (!allowed.empty() && !allowed.count(key)) {
        std::string known;
        for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
        error(pos(k.Mark()), ctx, "unknown key \"" + key + "\" (expected one of: " + known + ")");
        continue;
      }
      fn(key, v);
    }
  }

  std::string str(const YAML::Node& n, const std::string& ctx) {
    if (n.IsNull()) return "";
    if (!n.IsScalar()) {
      error(pos(n.Mark()), ctx, "expected a string");
      return "";
    }
    return n.Scalar();
  }

  bool boolean(const YAML::Node& n, const std::string& ctx, bool def) {
    if (n.IsNull()) return def;
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    error(pos(n.Mark()), ctx, "expected true or false");
    return def;
  }

  std::vector<DiscoveryRule> ruleList(const YAML::Node& n, const std::string& ctx) {
    std::vector<DiscoveryRule> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence()) {
      error(pos(n.Mark()), ctx, "expected a list of rules");
      return out;
    }
    for (size_t i = 0; i < n.size(); ++i)
      out.push_back(rule(n[i], ctx + "[" + std::to_string(i) + "]"));
    return out;
  }

  DiscoveryRule rule(const YAML::Node& n, const std::string& ctx) {
    DiscoveryRule r;
    r.pos = pos(n.Mark());
    if (!n.IsMap()) {
      error(r.pos, ctx, "expected a rule mapping (seriesQuery, resources, name, metricsQuery)");
      return r;
    }
    bool hasSeries = false, hasQuery = false;
    forEachKey(n, ctx, {"seriesQuery", "seriesFilters", "resources", "name", "metricsQuery"},
               [&](const std::string& key, const YAML::Node& v) {
                 std::string c = ctx + "." + key;
                 if (key == "seriesQuery") {
                   r.seriesQuery = str(v, c);
                   hasSeries = !r.seriesQuery.empty();
                 } else if (key == "metricsQuery") {
                   r.metricsQuery = str(v, c);
                   r.metricsQueryPos = pos(v.Mark());
                   hasQuery = !r.metricsQuery.empty();
                 } else if (key == "seriesFilters") {
                   r.seriesFilters = filters(v, c);
                 } else if (key == "resources") {
                   r.resources = resourceMapping(v, c);
                 } else {
                   r.name = nameMapping(v, c);
                 }
               });
    if (!hasSeries)
      error(r.pos, ctx,
            "seriesQuery is required (a series selector such as '{__name__=~\"^http_.*\"}')");
    if (!hasQuery)
      error(r.pos, ctx,
            "metricsQuery is required (e.g. 'sum(<<.Series>>{<<.LabelMatchers>>}) by "
            "(<<.GroupBy>>)')");
    return r;
  }

  std::vector<RegexFilter> filters(const YAML::Node& n, const std::string& ctx) {
    std::vector<RegexFilter> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence()) {
      error(pos(n.Mark()), ctx, "expected a list of {is: REGEX} or {isNot: REGEX}");
      return out;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      std::string c = ctx + "[" + std::to_string(i) + "]";
      RegexFilter f;
      f.pos = pos(n[i].Mark());
      if (!n[i].IsMap()) {
        error(f.pos, c, "expected {is: REGEX} or {isNot: REGEX}");
        continue;
      }
      forEachKey(n[i], c, {"is", "isNot"}, [&](const std::string& key, const YAML::Node& v) {
        (key == "is" ? f.is : f.isNot) = str(v, c + "." + key);
      });
      if (f.is.empty() && f.isNot.empty()) error(f.pos, c, "a series filter needs is or isNot");
      out.push_back(f);
    }
    return out;
  }

  ResourceMapping resourceMapping(const YAML::Node& n, const std::string& ctx) {
    ResourceMapping m;
    if (n.IsNull()) return m;
    if (!n.IsMap()) {
      error(pos(n.Mark()), ctx, "expected a mapping with template, overrides or namespaced");
      return m;
    }
    forEachKey(n, ctx, {"template", "overrides", "namespaced"},
               [&](const std::string& key, const YAML::Node& v) {
                 std::string c = ctx + "." + key;
                 if (key == "template") {
                   m.templ = str(v, c);
                   m.templPos = pos(v.Mark());
                 } else if (key == "namespaced") {
                   m.namespaced = boolean(v, c, true);
                 } else {
                   m.overridesPos = pos(v.Mark());
                   if (v.IsNull()) return;
                   if (!v.IsMap()) {
                     error(pos(v.Mark()), c,
                           "expected a mapping of label: {group: G, resource: R}");
                     return;
                   }
                   forEachKey(v, c, {}, [&](const std::string& label, const YAML::Node& gr) {
                     std::string lc = c + "." + label;
                     GroupResourceRef ref;
                     if (!gr.IsMap()) {
                       error(pos(gr.Mark()), lc, "expected {group: G, resource: R}");
                       return;
                     }
                     forEachKey(gr, lc, {"group", "resource"},
                                [&](const std::string& k, const YAML::Node& x) {
                                  (k == "group" ? ref.group : ref.resource) = str(x, lc + "." + k);
                                });
                     if (ref.resource.empty()) error(pos(gr.Mark()), lc, "resource is required");
                     m.overrides[label] = ref;
                   });
                 }
               });
    return m;
  }

  NameMapping nameMapping(const YAML::Node& n, const std::string& ctx) {
    NameMapping nm;
    nm.pos = pos(n.Mark());
    if (n.IsNull()) return nm;
    if (!n.IsMap()) {
      error(nm.pos, ctx, "expected a mapping with matches and as");
      return nm;
    }
    forEachKey(n, ctx, {"matches", "as"}, [&](const std::string& key, const YAML::Node& v) {
      if (key == "matches") {
        nm.matches = str(v, ctx + ".matches");
        if (nm.matches.empty()) nm.matches = ".*";
      } else {
        nm.as = str(v, ctx + ".as");
      }
    });
    return nm;
  }

  ResourceRule resourceRule(const YAML::Node& n, const std::string& ctx) {
    ResourceRule r;
    r.pos = pos(n.Mark());
    if (!n.IsMap()) {
      error(r.pos, ctx,
            "expected a mapping with containerQuery, nodeQuery, resources, containerLabel");
      return r;
    }
    forEachKey(n, ctx, {"containerQuery", "nodeQuery", "resources", "containerLabel"},
               [&](const std::string& key, const YAML::Node& v) {
                 std::string c = ctx + "." + key;
                 if (key == "containerQuery")
                   r.containerQuery = str(v, c);
                 else if (key == "nodeQuery")
                   r.nodeQuery = str(v, c);
                 else if (key == "containerLabel")
                   r.containerLabel = str(v, c);
                 else
                   r.resources = resourceMapping(v, c);
               });
    if (r.containerQuery.empty()) error(r.pos, ctx, "containerQuery is required");
    if (r.nodeQuery.empty()) error(r.pos, ctx, "nodeQuery is required");
    return r;
  }

  ResourceRules resourceRules(const YAML::Node& n) {
    ResourceRules rr;
    rr.pos = pos(n.Mark());
    if (!n.IsMap()) {
      error(rr.pos, "resourceRules", "expected a mapping with cpu, memory and window");
      return rr;
    }
    bool cpu = false, mem = false;
    forEachKey(n, "resourceRules", {"cpu", "memory", "window"},
               [&](const std::string& key, const YAML::Node& v) {
                 if (key == "cpu") {
                   rr.cpu = resourceRule(v, "resourceRules.cpu");
                   cpu = true;
                 } else if (key == "memory") {
                   rr.memory = resourceRule(v, "resourceRules.memory");
                   mem = true;
                 } else {
                   std::string w = str(v, "resourceRules.window");
                   auto ms = common::parseDurationMillis(w);
                   if (!ms || *ms <= 0 || *ms % 1000 != 0) {
                     error(pos(v.Mark()), "resourceRules.window",
                           "invalid duration \"" + w + "\" (expected e.g. 1m or 30s)");
                   } else {
                     rr.windowSeconds = *ms / 1000;
                   }
                 }
               });
    if (!cpu) error(rr.pos, "resourceRules", "cpu is required");
    if (!mem) error(rr.pos, "resourceRules", "memory is required");
    if (rr.windowSeconds == 0 && diags_.empty())
      error(rr.pos, "resourceRules", "window is required (e.g. 5m)");
    return rr;
  }

  std::string file_;
  std::vector<Diagnostic> diags_;
};

}  // namespace

Config parseConfig(const std::string& text, const std::string& file) {
  return Loader(file).load(text);
}

Config loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError({Diagnostic{path, {}, "", "cannot read the config file"}});
  std::stringstream ss;
  ss << in.rdbuf();
  return parseConfig(ss.str(), path);
}

}  // namespace rules
