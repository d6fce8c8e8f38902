// What requests read: the active rules and the catalog built with them,
// published together and swapped atomically (readers never lock).
#pragma once

#include <atomic>
#include <memory>
#include <string>

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
  std::shared_ptr<const Snapshot> current() const { return snap_.load(std::memory_order_acquire); }
  void publish(std::shared_ptr<const Snapshot> s) {
    snap_.store(std::move(s), std::memory_order_release);
  }
  bool ready() const { return current() != nullptr; }

 private:
  std::atomic<std::shared_ptr<const Snapshot>> snap_;
};

}  // namespace adapter
