// A validated, compiled config: regexes, templates and resource naming ready
// to use. Immutable once built; shared by the catalog and request handlers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/config.h"
#include "rules/go_regexp.h"
#include "rules/go_template.h"
#include "rules/resource_mapper.h"
#include "rules/resource_naming.h"

namespace rules {

struct CompiledRule {
  std::string context;  // "rules[2]" or "externalRules[0]", for messages
  bool external = false;
  std::string seriesQuery;
  std::vector<GoRegexp> is;
  std::vector<GoRegexp> isNot;
  GoRegexp nameMatches;
  std::string nameAs;
  ResourceNaming resources;
  gotemplate::Template metricsQuery;
  std::string metricsQueryText;
  bool namespaced = true;

  // The metric name this rule gives a series, or nullopt when the series is
  // filtered out or does not match name.matches.
  std::optional<std::string> metricNameFor(std::string_view seriesName) const;
};

// One of resourceRules' cpu and memory: container and node queries.
struct CompiledResourceQuery {
  ResourceNaming resources;
  gotemplate::Template containerQuery;
  gotemplate::Template nodeQuery;
  std::string containerLabel;
};

struct CompiledResourceRules {
  CompiledResourceQuery cpu;
  CompiledResourceQuery memory;
  int64_t windowSeconds = 0;
};

class RuleSet {
 public:
  // Compiles and validates every rule; throws ConfigError listing each
  // problem with its position.
  static std::shared_ptr<const RuleSet> compile(const Config& config, const std::string& file,
                                                std::shared_ptr<const ResourceMapper> mapper);

  const Config& config() const { return config_; }
  const std::vector<CompiledRule>& custom() const { return custom_; }
  const std::vector<CompiledRule>& external() const { return external_; }
  // metrics.k8s.io's queries, when the config has resourceRules.
  const std::optional<CompiledResourceRules>& resource() const { return resource_; }
  const ResourceMapper& mapper() const { return *mapper_; }
  // Distinct seriesQuery values, in first-use order; the relister asks the
  // backend once per entry.
  const std::vector<std::string>& seriesQueries() const { return seriesQueries_; }
  // For each distinct query, the rules (custom first, then external) using it.
  const std::vector<std::vector<const CompiledRule*>>& rulesByQuery() const {
    return rulesByQuery_;
  }

 private:
  Config config_;
  std::shared_ptr<const ResourceMapper> mapper_;
  std::vector<CompiledRule> custom_;
  std::vector<CompiledRule> external_;
  std::optional<CompiledResourceRules> resource_;
  std::vector<std::string> seriesQueries_;
  std::vector<std::vector<const CompiledRule*>> rulesByQuery_;
};

}  // namespace rules
