// Which metrics exist: built from the series the backend returned for each
// rule's seriesQuery, then immutable. One catalog per relist, swapped whole.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/resource_mapper.h"
#include "rules/rule_set.h"

namespace rules {

struct CustomMetricInfo {
  ResourceInfo resource;
  bool namespaced = true;
  std::string metric;
};

// What serves a metric: the rule and the series name its query uses.
struct CatalogEntry {
  const CompiledRule* rule = nullptr;
  std::string seriesName;
};

class SeriesCatalog {
 public:
  const CatalogEntry* findCustom(const GroupResource& resource, std::string_view metric) const;
  const CatalogEntry* findExternal(std::string_view metric) const;
  // Sorted by resource, then metric.
  const std::vector<CustomMetricInfo>& customMetrics() const { return customList_; }
  const std::vector<std::string>& externalMetrics() const { return externalList_; }
  size_t seriesCount() const { return seriesCount_; }
  const std::shared_ptr<const RuleSet>& rules() const { return rules_; }

 private:
  friend class CatalogBuilder;
  std::shared_ptr<const RuleSet> rules_;
  std::unordered_map<std::string, CatalogEntry> custom_;  // "resource.group/metric"
  std::unordered_map<std::string, CatalogEntry> external_;
  std::vector<CustomMetricInfo> customList_;
  std::vector<std::string> externalList_;
  size_t seriesCount_ = 0;
};

// Feeds series one at a time (so a large /series answer is never held
// whole) and produces a catalog. Rule order is precedence: when two rules
// or series yield the same metric for a resource, the first one serves it.
class CatalogBuilder {
 public:
  explicit CatalogBuilder(std::shared_ptr<const RuleSet> rules);
  ~CatalogBuilder();
  // A series returned for rules->seriesQueries()[queryIndex]: its __name__
  // and its label names.
  void addSeries(size_t queryIndex, std::string_view name,
                 const std::vector<std::string>& labelNames);
  SeriesCatalog build() &&;

 private:
  struct RuleState;
  std::shared_ptr<const RuleSet> rules_;
  std::vector<std::unique_ptr<RuleState>> states_;  // per query, per rule
  std::vector<std::vector<RuleState*>> byQuery_;
  std::vector<ResourceInfo> resources_;
  std::unordered_map<std::string, uint32_t> resourceIds_;
  std::vector<std::string> metrics_;
  std::unordered_map<std::string, uint32_t> metricIds_;
  std::unordered_map<uint64_t, CatalogEntry> custom_;
  std::unordered_map<uint32_t, CatalogEntry> external_;
  size_t seriesCount_ = 0;
};

}  // namespace rules
