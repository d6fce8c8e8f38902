// The Prometheus text exposition of a snapshot: kafka_exporter's metric
// families (with a `cluster` label), the SQS gauges, and how collection is
// going.
#pragma once

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>

#include "queue_stats/stats_store.h"

namespace queue_stats {

// Durations of collection cycles, per source and target.
class CollectionMetrics {
 public:
  CollectionMetrics();
  void observe(const std::string& source, const std::string& target, double seconds);
  // The configured `interval`, so alerts can say "no success in 3 intervals".
  void setInterval(double seconds) { interval_.Set(seconds); }
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& interval_;
};

std::string renderMetrics(const StatsStore& store, const CollectionMetrics& metrics);

}  // namespace queue_stats
