// Metric discovery in the background: one /series call per distinct
// seriesQuery, a new catalog, one atomic swap. A failure keeps the previous
// catalog serving.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "adapter/clock.h"
#include "adapter/prometheus_client.h"
#include "adapter/self_metrics.h"
#include "adapter/serving_state.h"
#include "apiservice/logger.h"

namespace adapter {

struct RelistOptions {
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  std::chrono::milliseconds maxAge{std::chrono::minutes(10)};  // the /series window
};

class Relister {
 public:
  Relister(PrometheusApi& backend, ServingState& state, const Clock& clock, SelfMetrics& metrics,
           apiservice::Logger& log, RelistOptions opts);
  ~Relister();

  // The rules the next relist builds with; wakes the loop so a reloaded
  // config takes effect at once.
  void setRules(std::shared_ptr<const rules::RuleSet> rules, uint64_t generation);
  // Discovers now; publishes and returns true on success.
  bool relistOnce();
  void start();
  void stop();

 private:
  void loop();
  PrometheusApi& backend_;
  ServingState& state_;
  const Clock& clock_;
  SelfMetrics& metrics_;
  apiservice::Logger& log_;
  RelistOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const rules::RuleSet> rules_;
  uint64_t generation_ = 0;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace adapter
