// One collection cycle per source: Kafka consumer lag for a cluster, SQS
// queue depth for the configured queues. Pure logic over the KafkaClient
// and SqsApi seams.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "queue_stats/config.h"
#include "queue_stats/kafka_client.h"
#include "queue_stats/sqs_client.h"
#include "queue_stats/stats_store.h"

namespace queue_stats {

// One cluster's cycles: topics, then committed offsets, then watermarks
// (read after the offsets, the high watermark is never behind a commit),
// member counts where the brokers tell them, then the timestamps of the
// oldest unread messages. A group's topics are those it committed on,
// limited by `topics:`; a topic or partition of them that fails fails the
// group (never a smaller sum).
class KafkaCollector {
 public:
  // `nowMs`: Unix ms, what message timestamps are compared with.
  KafkaCollector(KafkaClusterConfig cfg, KafkaClient& client, std::function<int64_t()> nowMs);
  KafkaCycle collect();

 private:
  struct Metadata;
  void readGroups(const Metadata& md, const std::map<std::string, GroupOffsets>& offsets,
                  KafkaCycle& c);
  void readLagSeconds(KafkaCycle& c);
  KafkaClusterConfig cfg_;
  KafkaClient& client_;
  std::function<int64_t()> nowMs_;
  // Message timestamps already read: a message's timestamp never changes,
  // so a group that has not moved costs no fetch. Holds the last cycle's
  // positions only.
  std::map<MessagePosition, int64_t> timestamps_;
  // Per group, the topics of its last successful measurement.
  std::map<std::string, std::set<std::string>> lastTopics_;
};

// The age in seconds of a message with timestamp `tsMs` at `nowMs`; a
// timestamp in the future gives 0, never a negative age.
double ageSeconds(int64_t tsMs, int64_t nowMs);

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
