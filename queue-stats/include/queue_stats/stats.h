// What queue-stats measures, as plain values: per consumer group and
// partition the committed offset and the partition's watermarks; per SQS
// queue its three counts. Lag is derived, with the rules spelled out here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace queue_stats {

struct PartitionWatermarks {
  int64_t low = 0;   // oldest offset still in the log
  int64_t high = 0;  // next offset to be written
};

struct GroupPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t committed = -1;  // -1: the group has committed nothing here
  PartitionWatermarks watermarks;
  // The age of the oldest unread message (now - its timestamp), 0 without
  // lag; absent without a commit or when its timestamp could not be read.
  std::optional<double> lagSeconds{};
};

// Messages the group still has to read: high - committed, counted from the
// low watermark when retention deleted messages the group never read (it
// cannot read them any more); never negative (offsets are read a moment
// apart). -1 without a committed offset, as kafka_exporter.
int64_t consumerLag(const GroupPartition& p);
// Messages deleted by retention before the group read them (0 normally).
int64_t expiredMessages(const GroupPartition& p);

struct KafkaGroupStats {
  std::string group;
  std::optional<int> members;              // only when the brokers describe groups
  std::vector<GroupPartition> partitions;  // sorted by topic, partition
};

struct KafkaTopicStats {
  std::string topic;
  std::vector<PartitionWatermarks> partitions;  // index = partition id
};

struct SqsQueueStats {
  std::string region;
  std::string name;
  std::string url;
  int64_t visible = 0;
  int64_t notVisible = 0;
  int64_t delayed = 0;
};

// Everything last measured successfully, with when. An entry whose last
// success is older than its source's staleAfter is kept, marked stale:
// never served as a value (withdrawn from /metrics, stale in the feed,
// UNAVAILABLE to KEDA).
struct StatsSnapshot {
  struct Group {
    std::string cluster;
    KafkaGroupStats stats;
    int64_t collectedAtMs = 0;
    int64_t staleAtMs = 0;  // collectedAtMs + the source's staleAfter
    bool stale = false;
  };
  struct Topic {
    std::string cluster;
    KafkaTopicStats stats;
    int64_t collectedAtMs = 0;
    int64_t staleAtMs = 0;
    bool stale = false;
  };
  struct Queue {
    SqsQueueStats stats;
    int64_t collectedAtMs = 0;
    int64_t staleAtMs = 0;
    bool stale = false;
  };
  // The configured Kafka clusters: name -> bootstrapServers (KEDA's
  // `bootstrapServers` key resolves through it).
  std::map<std::string, std::string> clusterServers;
  std::map<std::pair<std::string, std::string>, Group> groups;  // (cluster, group)
  std::map<std::pair<std::string, std::string>, Topic> topics;  // (cluster, topic)
  std::map<std::string, Queue> queues;                          // by URL
  uint64_t version = 0;
};

}  // namespace queue_stats
