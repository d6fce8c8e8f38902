// The Kafka seam: what the lag collector asks a cluster. The librdkafka
// implementation batches every call (one watermark request per broker,
// all groups' offset fetches in flight at once).
#pragma once

#include <compare>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "queue_stats/config.h"
#include "queue_stats/stats.h"

namespace queue_stats {

class KafkaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The brokers do not implement a request (the mock cluster lacks
// ListGroups and DescribeGroups).
class KafkaUnsupported : public KafkaError {
 public:
  using KafkaError::KafkaError;
};

using TopicPartition = std::pair<std::string, int32_t>;

struct GroupOffsets {
  std::map<TopicPartition, int64_t> committed;  // only partitions with a commit
  std::string error;                            // non-empty: the group failed
};

// Topics as the metadata answer gives them: partition counts for the
// healthy ones, the error of each topic the brokers could not describe.
struct TopicsAnswer {
  std::map<std::string, int> partitions;      // internal topics excluded
  std::map<std::string, std::string> errors;  // topic -> error
};

// Watermarks per partition; a partition whose offsets failed is in
// `errors` instead (its groups fail, never a smaller sum).
struct WatermarksAnswer {
  std::map<TopicPartition, PartitionWatermarks> marks;
  std::map<TopicPartition, std::string> errors;
};

// A message position: the partition and the offset to read at.
struct MessagePosition {
  TopicPartition tp;
  int64_t offset = 0;
  auto operator<=>(const MessagePosition&) const = default;
};

// The timestamps (Unix ms, CreateTime or LogAppendTime as the message
// has it) of the messages at the asked positions; a position whose read
// failed or timed out is in `errors`.
struct TimestampsAnswer {
  std::map<MessagePosition, int64_t> timestampsMs;
  std::map<MessagePosition, std::string> errors;
};

// Every call waits at most the cluster's timeoutMs per request to the
// brokers; a whole call at most a small multiple of it.
class KafkaClient {
 public:
  virtual ~KafkaClient() = default;
  // Throws KafkaError when the brokers cannot be reached at all.
  virtual TopicsAnswer topics() = 0;
  // Low and high watermarks. Throws KafkaError when no answer came.
  virtual WatermarksAnswer watermarks(const std::vector<TopicPartition>& partitions) = 0;
  // Every consumer group the brokers know, with its member count
  // (ListGroups and DescribeGroups on every broker, as kafka_exporter).
  // Throws KafkaUnsupported or KafkaError.
  virtual std::map<std::string, int> groups() = 0;
  // Committed offsets per group. Each group is asked for all its
  // partitions; one that answers none is asked again for `fallback`
  // explicitly (brokers that cannot list all, or a group that has
  // committed nothing yet: its partitions then read -1).
  virtual std::map<std::string, GroupOffsets> committedOffsets(
      const std::vector<std::string>& groups, const std::vector<TopicPartition>& fallback) = 0;
  // The timestamp of the message at each position (the first message at
  // or after it), read with bounded fetches: one message per position, a
  // small fetch size, connections kept across calls. Positions may repeat
  // a partition at different offsets. Never throws for a single position.
  virtual TimestampsAnswer messageTimestamps(const std::vector<MessagePosition>& positions) = 0;
};

// librdkafka's log lines, for the caller's logger.
using KafkaLogSink =
    std::function<void(int level, const std::string& facility, const std::string& message)>;

// Throws KafkaError when the client cannot be configured (e.g. an
// unreadable password file).
std::unique_ptr<KafkaClient> makeRdKafkaClient(const KafkaClusterConfig& cfg, KafkaLogSink log);

}  // namespace queue_stats
