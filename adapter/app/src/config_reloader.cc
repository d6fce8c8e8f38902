#include "adapter/app/config_reloader.h"

#include "common/file_stamp.h"

#include <chrono>

namespace adapter {

namespace {
double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

ConfigReloader::ConfigReloader(std::string path,
                               std::shared_ptr<const rules::ResourceMapper> mapper,
                               Relister& relister, SelfMetrics& metrics, common::Logger& log)
    : path_(std::move(path)),
      mapper_(std::move(mapper)),
      relister_(relister),
      metrics_(metrics),
      log_(log) {}

void ConfigReloader::loadInitial() {
  auto read = common::readWholeFile(path_);
  if (!read) {
    throw rules::ConfigError({rules::Diagnostic{path_, {}, "", "cannot read the config file"}});
  }
  const std::string& content = *read;
  auto set = rules::RuleSet::compile(rules::parseConfig(content, path_), path_, mapper_);
  lastContent_ = servingContent_ = content;
  generation_ = 1;
  relister_.setRules(set, generation_);
  metrics_.observeReload(true, generation_, unixNow());
  log_.info("loaded config", {{"file", path_},
                              {"rules", std::to_string(set->custom().size())},
                              {"externalRules", std::to_string(set->external().size())}});
}

bool ConfigReloader::reload(bool force) {
  auto read = common::readWholeFile(path_);
  if (!read) {
    if (force) {
      log_.error("config reload failed; keeping the previous config",
                 {{"file", path_}, {"error", "cannot read the file"}});
      metrics_.observeReload(false, generation_, unixNow());
    }
    return false;
  }
  const std::string& content = *read;
  if (!force && content == lastContent_) return false;
  lastContent_ = content;
  return accept(content, "reloaded config");
}

bool ConfigReloader::recompile() {
  // A file rejected for naming a resource discovery had not found yet may
  // compile now; otherwise the serving config is compiled against the new
  // resource table.
  if (lastContent_ != servingContent_ &&
      accept(lastContent_, "recompiled config for new API resources"))
    return true;
  return accept(servingContent_, "recompiled config for new API resources");
}

bool ConfigReloader::accept(const std::string& content, const char* what) {
  try {
    auto set = rules::RuleSet::compile(rules::parseConfig(content, path_), path_, mapper_);
    ++generation_;
    servingContent_ = content;
    relister_.setRules(set, generation_);
    metrics_.observeReload(true, generation_, unixNow());
    log_.info(what, {{"file", path_}, {"generation", std::to_string(generation_)}});
    return true;
  } catch (const rules::ConfigError& e) {
    metrics_.observeReload(false, generation_, unixNow());
    for (const auto& d : e.diagnostics()) {
      log_.error("config reload rejected; keeping the previous config", {{"problem", d.str()}});
    }
    return false;
  }
}

}  // namespace adapter
