#include "rules/series_catalog.h"

#include <algorithm>
#include <optional>

namespace rules {

namespace {
std::string customKey(const GroupResource& gr, std::string_view metric) {
  std::string k = gr.str();
  k += '/';
  k += metric;
  return k;
}
}  // namespace

const CatalogEntry* SeriesCatalog::findCustom(const GroupResource& resource,
                                              std::string_view metric) const {
  auto it = custom_.find(customKey(resource, metric));
  return it == custom_.end() ? nullptr : &it->second;
}

const CatalogEntry* SeriesCatalog::findExternal(std::string_view metric) const {
  auto it = external_.find(std::string(metric));
  return it == external_.end() ? nullptr : &it->second;
}

// Per-rule memo: series names and label names repeat across many series, so
// each is resolved once per relist.
struct CatalogBuilder::RuleState {
  const CompiledRule* rule;
  std::unordered_map<std::string, std::optional<uint32_t>> metricByName;
  std::unordered_map<std::string, std::optional<uint32_t>> resourceByLabel;
};

CatalogBuilder::CatalogBuilder(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)) {
  byQuery_.resize(rules_->seriesQueries().size());
  for (size_t q = 0; q < rules_->rulesByQuery().size(); ++q) {
    for (const CompiledRule* r : rules_->rulesByQuery()[q]) {
      states_.push_back(std::make_unique<RuleState>(RuleState{r, {}, {}}));
      byQuery_[q].push_back(states_.back().get());
    }
  }
}

CatalogBuilder::~CatalogBuilder() = default;

void CatalogBuilder::addSeries(size_t queryIndex, std::string_view name,
                               const std::vector<std::string>& labelNames) {
  ++seriesCount_;
  std::string nameKey(name);
  for (RuleState* st : byQuery_.at(queryIndex)) {
    auto mit = st->metricByName.find(nameKey);
    if (mit == st->metricByName.end()) {
      std::optional<uint32_t> id;
      if (auto metric = st->rule->metricNameFor(name); metric && !metric->empty()) {
        auto [it, fresh] = metricIds_.emplace(*metric, static_cast<uint32_t>(metrics_.size()));
        if (fresh) metrics_.push_back(*metric);
        id = it->second;
      }
      mit = st->metricByName.emplace(nameKey, id).first;
    }
    if (!mit->second) continue;
    uint32_t metricId = *mit->second;
    if (st->rule->external) {
      external_.try_emplace(metricId, CatalogEntry{st->rule, nameKey});
      continue;
    }
    for (const auto& label : labelNames) {
      auto lit = st->resourceByLabel.find(label);
      if (lit == st->resourceByLabel.end()) {
        std::optional<uint32_t> rid;
        if (auto info = st->rule->resources.resourceForLabel(label)) {
          auto [it, fresh] =
              resourceIds_.emplace(info->gr.str(), static_cast<uint32_t>(resources_.size()));
          if (fresh) resources_.push_back(*info);
          rid = it->second;
        }
        lit = st->resourceByLabel.emplace(label, rid).first;
      }
      if (!lit->second) continue;
      uint64_t key = (static_cast<uint64_t>(*lit->second) << 32) | metricId;
      custom_.try_emplace(key, CatalogEntry{st->rule, nameKey});
    }
  }
}

SeriesCatalog CatalogBuilder::build() && {
  SeriesCatalog c;
  c.rules_ = rules_;
  c.seriesCount_ = seriesCount_;
  for (auto& [key, entry] : custom_) {
    const ResourceInfo& res = resources_[key >> 32];
    const std::string& metric = metrics_[key & 0xffffffffu];
    c.customList_.push_back(CustomMetricInfo{res, res.namespaced, metric});
    c.custom_.emplace(customKey(res.gr, metric), std::move(entry));
  }
  for (auto& [id, entry] : external_) {
    c.externalList_.push_back(metrics_[id]);
    c.external_.emplace(metrics_[id], std::move(entry));
  }
  std::sort(c.customList_.begin(), c.customList_.end(),
            [](const CustomMetricInfo& a, const CustomMetricInfo& b) {
              return std::tie(a.resource.gr, a.metric) < std::tie(b.resource.gr, b.metric);
            });
  std::sort(c.externalList_.begin(), c.externalList_.end());
  return c;
}

}  // namespace rules
