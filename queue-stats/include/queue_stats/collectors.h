// One collection cycle per source: Kafka consumer lag for a cluster, SQS
// queue depth for the configured queues. Pure logic over the KafkaClient
// and SqsApi seams.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "queue_stats/config.h"
#include "queue_stats/kafka_client.h"
#include "queue_stats/sqs_client.h"
#include "queue_stats/stats_store.h"

namespace queue_stats {

// Topics, then committed offsets, then watermarks (read after the offsets,
// the high watermark is never behind a commit), then member counts where
// the brokers tell them.
KafkaCycle collectKafka(const KafkaClusterConfig& cfg, KafkaClient& client);

// The last path segment of a queue URL is its name.
std::string queueNameFromUrl(const std::string& url);

class SqsCollector {
 public:
  // `makeApi` gives each worker its own client (connections are per worker).
  SqsCollector(SqsConfig cfg, std::string region, std::function<std::unique_ptr<SqsApi>()> makeApi);
  SqsCycle collect();

 private:
  std::vector<std::string> queueUrls(SqsApi& api, SqsCycle& cycle);
  SqsConfig cfg_;
  std::string region_;
  std::function<std::unique_ptr<SqsApi>()> makeApi_;
  std::vector<std::unique_ptr<SqsApi>> apis_;  // one per worker, reused across cycles
  std::mutex mu_;
  std::map<std::string, std::string> urlByName_;  // GetQueueUrl answers
};

}  // namespace queue_stats
