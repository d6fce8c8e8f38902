// The latest measurement of every target, and what went wrong with the
// others. A value is current or absent: a failed collection marks its
// target's values stale at once, and a value not measured again within its
// source's staleAfter turns stale too (expire); stale values are kept only
// to say so (the feed marks them, KEDA gets UNAVAILABLE, /metrics leaves
// them out). Readers get an immutable snapshot; subscribers are told when
// a new one is published.
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

// One cycle's outcome for one Kafka cluster.
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

// One cycle's outcome for SQS.
struct SqsCycle {
  std::vector<SqsQueueStats> queues;
  std::map<std::string, std::string> queueErrors;  // queue name -> error
  std::vector<std::string> failedPrefixes;         // ListQueues failed: their queues go stale
  std::vector<std::pair<std::string, std::string>> otherErrors;
  double seconds = 0;
};

class StatsStore {
 public:
  using Subscriber = std::function<void(std::shared_ptr<const StatsSnapshot>)>;

  void publish(const KafkaCycle& cycle, int64_t nowMs, int64_t staleAfterMs);
  void publish(const SqsCycle& cycle, int64_t nowMs, int64_t staleAfterMs);
  // Marks values stale whose staleAtMs has passed; publishes when any did.
  void expire(int64_t nowMs);
  // The configured clusters (name -> bootstrapServers); drops the values
  // of clusters no longer configured, and SQS' when `sqs` is false.
  void configure(std::map<std::string, std::string> clusterServers, bool sqs);

  std::shared_ptr<const StatsSnapshot> snapshot() const { return snap_.load(); }
  // (source, target) -> health.
  std::map<std::pair<std::string, std::string>, TargetHealth> health() const;
  // Called after each publish with the new snapshot (gRPC streams).
  void subscribe(Subscriber fn);
  bool hasData() const { return snapshot()->version > 0; }

 private:
  // Applies `change` to a copy of the snapshot and publishes it when it
  // returns true (under mu_; subscribers are called after).
  void update(const std::function<bool(StatsSnapshot&)>& change);
  void recordError(const std::string& source, const std::string& target, const std::string& error);
  void recordSuccess(const std::string& source, const std::string& target, int64_t nowMs);
  mutable std::mutex mu_;
  common::Published<StatsSnapshot> snap_{std::make_shared<const StatsSnapshot>()};
  std::map<std::pair<std::string, std::string>, TargetHealth> health_;
  std::vector<Subscriber> subscribers_;
};

}  // namespace queue_stats
