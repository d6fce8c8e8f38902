// What the provider tests serve from: rules compiled from YAML against the
// built-in resource table, and a snapshot whose catalog holds the series
// each seriesQuery "returned", published as the relister would.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "adapter/kube/builtin_resources.h"
#include "adapter/prometheus/serving_state.h"
#include "apiservice/status.h"
#include "rules/config.h"
#include "rules/rule_set.h"
#include "rules/series_catalog.h"

namespace providertest {

constexpr int64_t kNow = 1700000000000;

// One series of a /series answer: its name and label names.
struct SeriesOf {
  std::string name;
  std::vector<std::string> labels;
};

inline std::shared_ptr<const rules::RuleSet> compileRules(const std::string& yaml) {
  return rules::RuleSet::compile(rules::parseConfig(yaml, "test.yaml"), "test.yaml",
                                 adapter::builtinResources());
}

// Publishes `rules` with the catalog built from `series` (per seriesQuery
// text, exactly as the rules spell it; a query not listed saw no series).
inline void publish(adapter::ServingState& state, std::shared_ptr<const rules::RuleSet> rules,
                    const std::map<std::string, std::vector<SeriesOf>>& series,
                    uint64_t generation = 1) {
  rules::CatalogBuilder builder(rules);
  const auto& queries = rules->seriesQueries();
  for (const auto& [query, list] : series) {
    auto it = std::find(queries.begin(), queries.end(), query);
    ASSERT_NE(it, queries.end()) << "no rule has seriesQuery " << query;
    for (const auto& s : list) {
      std::vector<std::string> labels = s.labels;
      labels.push_back("__name__");
      builder.addSeries(it - queries.begin(), s.name, labels);
    }
  }
  state.publish(std::make_shared<adapter::Snapshot>(
      adapter::Snapshot{rules, std::move(builder).build(), generation, kNow}));
}

// The status code `f` ends with (200 when it returns), and its message.
inline int codeOf(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const apiservice::StatusError& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return 200;
}

}  // namespace providertest
