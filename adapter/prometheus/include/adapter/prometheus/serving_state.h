// What requests read: the active rules and the catalog built with them,
// published together and swapped as one (readers copy a pointer).
#pragma once

#include <memory>
#include <string>

#include "common/published.h"
#include "rules/rule_set.h"
#include "rules/series_catalog.h"

namespace adapter {

struct Snapshot {
  std::shared_ptr<const rules::RuleSet> rules;
  rules::SeriesCatalog catalog;
  uint64_t configGeneration = 0;
  int64_t builtAtMs = 0;
};

class ServingState {
 public:
  std::shared_ptr<const Snapshot> current() const { return snap_.load(); }
  void publish(std::shared_ptr<const Snapshot> s) { snap_.store(std::move(s)); }
  bool ready() const { return current() != nullptr; }

 private:
  common::Published<Snapshot> snap_;
};

}  // namespace adapter
