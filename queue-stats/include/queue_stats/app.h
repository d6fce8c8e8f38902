// queue-stats as a whole: the configured sources, one collection cycle
// over all of them (in parallel), and reconfiguration on reload.
#pragma once

#include <atomic>
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
  // Applies a (new) config. Kafka clients are kept for clusters whose
  // settings did not change. Throws std::runtime_error when a source
  // cannot be set up (e.g. no SQS region anywhere); nothing changes then.
  void configure(const QueueStatsConfig& cfg);
  void runCycle();
  StatsStore& store() { return store_; }
  const CollectionMetrics& metrics() const { return metrics_; }
  bool ready() const { return cycles_.load() > 0; }
  int64_t intervalMs() const;
  // Configured Kafka clusters: name -> bootstrapServers.
  std::map<std::string, std::string> kafkaClusters() const;

 private:
  struct Cluster {
    KafkaClusterConfig cfg;
    std::shared_ptr<KafkaClient> client;  // kept across reloads that leave the connection as is
  };
  common::Logger& log_;
  AppSeams seams_;
  StatsStore store_;
  CollectionMetrics metrics_;
  mutable std::mutex mu_;  // configure vs. runCycle
  QueueStatsConfig cfg_;
  std::map<std::string, std::shared_ptr<Cluster>> clusters_;
  std::unique_ptr<HttpTransport> credentialsHttp_;
  std::unique_ptr<DefaultCredentialsChain> credentials_;
  std::shared_ptr<SqsCollector> sqs_;
  std::atomic<uint64_t> cycles_{0};
};

}  // namespace queue_stats
