// prometheus-adapter's configuration file: the model and a strict loader
// whose errors carry file, line, column and rule index.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rules {

// Where a value came from in the config file (1-based; 0 when unknown).
struct SourcePos {
  int line = 0;
  int column = 0;
};

struct RegexFilter {
  std::string is;
  std::string isNot;
  SourcePos pos;
};

struct GroupResourceRef {
  std::string group;
  std::string resource;
};

struct ResourceMapping {
  std::string templ;  // `template`, e.g. kube_<<.Resource>>
  SourcePos templPos;
  std::map<std::string, GroupResourceRef> overrides;  // label -> resource
  SourcePos overridesPos;
  bool namespaced = true;
};

struct NameMapping {
  std::string matches = ".*";
  std::string as;  // empty: "$0" or "$1", derived from the number of groups
  SourcePos pos;
};

struct DiscoveryRule {
  std::string seriesQuery;
  std::vector<RegexFilter> seriesFilters;
  ResourceMapping resources;
  NameMapping name;
  std::string metricsQuery;
  SourcePos pos;
  SourcePos metricsQueryPos;
};

struct ResourceRule {
  std::string containerQuery;
  std::string nodeQuery;
  ResourceMapping resources;
  std::string containerLabel;
  SourcePos pos;
};

struct ResourceRules {
  ResourceRule cpu;
  ResourceRule memory;
  int64_t windowSeconds = 0;
  SourcePos pos;
};

struct Config {
  std::vector<DiscoveryRule> rules;
  std::vector<DiscoveryRule> externalRules;
  std::optional<ResourceRules> resourceRules;
};

struct Diagnostic {
  std::string file;
  SourcePos pos;
  std::string context;  // e.g. "rules[3].name.as"
  std::string message;
  std::string str() const;
};

// All problems found in a config, each with its position.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diags);
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

// Parses YAML text; `file` names it in errors. Checks structure, types,
// unknown and duplicate keys; throws ConfigError listing every problem.
Config parseConfig(const std::string& text, const std::string& file);
// Reads and parses a file; an unreadable file is a ConfigError too.
Config loadConfigFile(const std::string& path);

}  // namespace rules
