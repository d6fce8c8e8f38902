// The Kafka seam: what the lag collector asks a cluster. The librdkafka
// implementation batches every call (one watermark request per broker,
// all groups' offset fetches in flight at once).
#pragma once

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

class KafkaClient {
 public:
  virtual ~KafkaClient() = default;
  // Topic -> partition count (internal topics excluded). Throws KafkaError.
  virtual std::map<std::string, int> topics() = 0;
  // Low and high watermarks. Throws KafkaError.
  virtual std::map<TopicPartition, PartitionWatermarks> watermarks(
      const std::vector<TopicPartition>& partitions) = 0;
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
};

// librdkafka's log lines, for the caller's logger.
using KafkaLogSink =
    std::function<void(int level, const std::string& facility, const std::string& message)>;

// Throws KafkaError when the client cannot be configured (e.g. an
// unreadable password file).
std::unique_ptr<KafkaClient> makeRdKafkaClient(const KafkaClusterConfig& cfg, KafkaLogSink log);

}  // namespace queue_stats
