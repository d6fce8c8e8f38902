// Loads the rules config and reloads it on SIGHUP or when the file changes.
// A broken new config is rejected with its positions; the old one serves on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "adapter/app/self_metrics.h"
#include "adapter/prometheus/relister.h"
#include "common/logger.h"
#include "rules/rule_set.h"

namespace adapter {

class ConfigReloader {
 public:
  ConfigReloader(std::string path, std::shared_ptr<const rules::ResourceMapper> mapper,
                 Relister& relister, SelfMetrics& metrics, common::Logger& log);

  // The first load; throws rules::ConfigError so startup fails loudly.
  void loadInitial();
  // Reloads when the content changed (or always, when `force`); returns
  // true when a new config was accepted.
  bool reload(bool force);
  // Compiles again after API discovery changed the resource names: the
  // last file content read if it was rejected and now compiles, else the
  // serving config; one that no longer compiles keeps the old rules.
  bool recompile();
  uint64_t generation() const { return generation_; }

 private:
  std::string path_;
  std::shared_ptr<const rules::ResourceMapper> mapper_;
  Relister& relister_;
  SelfMetrics& metrics_;
  common::Logger& log_;
  bool accept(const std::string& content, const char* what);
  std::string lastContent_;     // the file as last read (unchanged: nothing to do)
  std::string servingContent_;  // the config the rules being served came from
  uint64_t generation_ = 0;
};

}  // namespace adapter
