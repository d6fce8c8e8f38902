// The latest successful measurement of every target, and what went wrong
// with the others. A failed collection removes its target's values (they
// are never left stale or turned into 0) and counts an error. Readers get
// an immutable snapshot; subscribers are told when a new one is published.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/published.h"
#include "queue_stats/stats.h"

namespace queue_stats {

struct TargetHealth {
  uint64_t errors = 0;
  int64_t lastSuccessMs = 0;  // 0: never
  std::string lastError;
};

// One cycle's outcome for one source ("kafka" cluster or "sqs").
struct KafkaCycle {
  std::string cluster;
  bool clusterOk = false;  // metadata and watermarks read
  std::string clusterError;
  std::vector<KafkaTopicStats> topics;
  std::map<std::string, KafkaGroupStats> groups;                 // measured
  std::map<std::string, std::string> groupErrors;                // group -> error
  std::vector<std::pair<std::string, std::string>> otherErrors;  // (target, error), e.g. discovery
  double seconds = 0;
};

struct SqsCycle {
  std::vector<SqsQueueStats> queues;
  std::map<std::string, std::string> queueErrors;  // queue name -> error
  std::vector<std::pair<std::string, std::string>> otherErrors;
  double seconds = 0;
};

class StatsStore {
 public:
  void publish(const KafkaCycle& cycle, int64_t nowMs);
  void publish(const SqsCycle& cycle, int64_t nowMs);
  // Drops a cluster's values (it left the config).
  void forgetCluster(const std::string& cluster);
  void forgetSqs();

  std::shared_ptr<const StatsSnapshot> snapshot() const { return snap_.load(); }
  // (source, target) -> health.
  std::map<std::pair<std::string, std::string>, TargetHealth> health() const;
  // Last cycle durations per (source, target).
  std::map<std::pair<std::string, std::string>, double> durations() const;
  // Called after each publish with the new snapshot (gRPC Watch streams).
  void subscribe(std::function<void(std::shared_ptr<const StatsSnapshot>)> fn);
  bool hasData() const { return snapshot()->version > 0; }

 private:
  void swap(StatsSnapshot next);
  void recordError(const std::string& source, const std::string& target, const std::string& error);
  void recordSuccess(const std::string& source, const std::string& target, int64_t nowMs);
  mutable std::mutex mu_;
  common::Published<StatsSnapshot> snap_{std::make_shared<const StatsSnapshot>()};
  std::map<std::pair<std::string, std::string>, TargetHealth> health_;
  std::map<std::pair<std::string, std::string>, double> durations_;
  std::vector<std::function<void(std::shared_ptr<const StatsSnapshot>)>> subscribers_;
};

}  // namespace queue_stats
