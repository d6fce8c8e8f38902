// queue-stats as a whole: the configured sources, each collected on its own
// schedule (SourceLoop), the sweep that turns values stale when their
// source stops delivering, and reconfiguration on reload. Readers (HTTP,
// gRPC) use only the store's published snapshot: nothing here holds a lock
// across I/O.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "common/logger.h"
#include "queue_stats/aws_credentials.h"
#include "queue_stats/collectors.h"
#include "queue_stats/config.h"
#include "queue_stats/exposition.h"
#include "queue_stats/kafka_client.h"
#include "queue_stats/source_loop.h"
#include "queue_stats/stats_store.h"

namespace queue_stats {

struct AppSeams {
  std::function<std::unique_ptr<KafkaClient>(const KafkaClusterConfig&)> kafka;
  std::function<std::unique_ptr<HttpTransport>(const std::string& caFile)> http;
  std::function<int64_t()> nowMs;
  AwsEnvironment aws = AwsEnvironment::process();
};

class App {
 public:
  App(common::Logger& log, AppSeams seams);
  ~App();
  // Applies a (new) config: sources whose settings did not change keep
  // their schedule and connections; the others are replaced (a replaced
  // one still in a cycle finishes it in the background and publishes
  // nothing). Throws std::runtime_error when a source cannot be set up
  // (e.g. no SQS region anywhere); nothing changes then.
  void configure(const QueueStatsConfig& cfg);
  // Asks every source to stop and waits for them until `deadline`; false
  // when one is still inside a request (the process should then exit
  // without destroying the App).
  bool stop(std::chrono::steady_clock::time_point deadline);
  StatsStore& store() { return store_; }
  const CollectionMetrics& metrics() const { return metrics_; }
  // Every configured source has finished a first cycle.
  bool ready() const;

  struct Source;

 private:
  std::shared_ptr<Source> kafkaSource(const KafkaClusterConfig& c, int64_t intervalMs);
  std::shared_ptr<Source> sqsSource(const SqsConfig& c, int64_t intervalMs);
  void kafkaCycle(Source& s);
  void sqsCycle(Source& s);
  // Publishes unless `s` was replaced meanwhile.
  void publish(const Source& s, const std::function<void()>& fn);
  void sweep();

  common::Logger& log_;
  AppSeams seams_;
  StatsStore store_;
  CollectionMetrics metrics_;
  mutable std::mutex mu_;  // the source tables; never held across I/O
  std::mutex publishMu_;   // a source's publish vs. its replacement (taken before mu_)
  std::map<std::string, std::shared_ptr<Source>> sources_;  // "kafka/<name>", "sqs"
  std::vector<std::shared_ptr<Source>> retired_;            // replaced, possibly still in a cycle
  std::unique_ptr<SourceLoop> sweeper_;
};

}  // namespace queue_stats
