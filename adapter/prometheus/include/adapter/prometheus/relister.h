// Metric discovery in the background: one /series call per distinct
// seriesQuery, a new catalog, one atomic swap. A failure keeps the previous
// catalog serving.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "adapter/prometheus/prometheus_api.h"
#include "adapter/prometheus/serving_state.h"
#include "common/clock.h"
#include "common/logger.h"

namespace adapter {

// What one relist did, for self-metrics.
struct RelistReport {
  double seconds = 0;
  bool ok = false;
  size_t series = 0;
  size_t customMetrics = 0;
  size_t externalMetrics = 0;
};
using RelistObserver = std::function<void(const RelistReport&)>;

struct RelistOptions {
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  std::chrono::milliseconds maxAge{std::chrono::minutes(10)};  // the /series window
};

class Relister {
 public:
  Relister(PrometheusApi& backend, ServingState& state, const common::Clock& clock,
           RelistObserver observe, common::Logger& log, RelistOptions opts);
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
  const common::Clock& clock_;
  RelistObserver observe_;
  common::Logger& log_;
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
