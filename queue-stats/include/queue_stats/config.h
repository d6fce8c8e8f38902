// queue-stats' configuration file: the model and a strict loader whose
// errors carry file, line and column.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace queue_stats {

struct SaslConfig {
  std::string mechanism;  // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
  std::string username;
  std::string passwordFile;
};

struct TlsConfig {
  std::string caFile;
  std::string certFile;
  std::string keyFile;
  bool insecureSkipVerify = false;
};

struct KafkaClusterConfig {
  std::string name;  // the `cluster` label
  std::string bootstrapServers;
  std::vector<std::string> groups;
  std::string groupPattern;         // RE2; groups discovered with ListGroups
  std::vector<std::string> topics;  // empty: every topic a group has offsets for
  std::optional<SaslConfig> sasl;
  std::optional<TlsConfig> tls;
  // Per request to the brokers: `timeout`, else the interval, at most 10 s.
  int64_t timeoutMs = 10000;
  // Values last measured longer ago than this are stale: `staleAfter`, else
  // two intervals.
  int64_t staleAfterMs = 30000;
  // The age of the oldest unread message per lagging partition (one small
  // fetch each; `lagSeconds: false` turns it off).
  bool lagSeconds = true;
};

struct SqsConfig {
  std::string region;               // empty: AWS_REGION, AWS_DEFAULT_REGION or the profile's
  std::string endpoint;             // override, e.g. http://127.0.0.1:4566 (local testing)
  std::vector<std::string> queues;  // names or queue URLs
  std::vector<std::string> queueNamePrefixes;
  int concurrency = 10;          // GetQueueAttributes calls in flight
  std::string caFile;            // extra CA for the endpoint (local testing)
  int64_t timeoutMs = 10000;     // per request to AWS, as for Kafka
  int64_t staleAfterMs = 30000;  // as for Kafka
};

// Each source (a cluster, SQS) is collected on its own schedule, every
// interval; a cycle that runs long only delays its own source.
struct QueueStatsConfig {
  int64_t intervalMs = 15000;
  std::vector<KafkaClusterConfig> kafka;
  std::optional<SqsConfig> sqs;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  // "file:line:col: where: what", one per problem.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

QueueStatsConfig parseConfig(const std::string& text, const std::string& file);
QueueStatsConfig loadConfigFile(const std::string& path);

}  // namespace queue_stats
