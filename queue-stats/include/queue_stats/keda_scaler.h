// KEDA's external scaler semantics over queue-stats' measurements: the
// Kafka and AWS SQS scalers' metadata keys and rules, evaluated against the
// latest snapshot instead of by polling the brokers per ScaledObject.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "queue_stats/stats.h"

namespace queue_stats {

// A scaler request that cannot be answered, with the gRPC status it maps
// to: the caller's mistake, something not measured, or stale data.
class ScalerError : public std::runtime_error {
 public:
  enum class Code { InvalidArgument, NotFound, Unavailable };
  ScalerError(Code code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  Code code() const { return code_; }

 private:
  Code code_;
};

struct ScalerQuery {
  enum class Source { Kafka, Sqs };
  Source source = Source::Kafka;
  // Kafka (KEDA's kafka scaler keys).
  std::string cluster;           // `cluster`, or the cluster whose bootstrapServers match
  std::string bootstrapServers;  // `bootstrapServers`
  std::string consumerGroup;     // `consumerGroup` (required)
  std::string topic;             // `topic`; empty: every topic the group consumes
  int64_t lagThreshold = 10;
  int64_t activationLagThreshold = 0;
  bool allowIdleConsumers = false;
  bool limitToPartitionsWithLag = false;
  bool offsetResetEarliest = false;  // `offsetResetPolicy: earliest` (default latest)
  bool scaleToZeroOnInvalidOffset = false;
  // `lagSecondsThreshold`: scale on the age of the oldest unread message
  // (seconds) instead of messages; replaces lagThreshold.
  std::optional<double> lagSecondsThreshold;
  double activationLagSecondsThreshold = 0;  // `activationLagSecondsThreshold`
  // SQS (KEDA's aws-sqs-queue scaler keys).
  std::string queueUrl;   // `queueURL`
  std::string queueName;  // `queueName` (or the last segment of the URL)
  int64_t queueLength = 5;
  int64_t activationQueueLength = 0;
  bool scaleOnInFlight = true;
  bool scaleOnDelayed = false;
};

// Throws ScalerError(InvalidArgument) naming the key.
ScalerQuery parseScalerMetadata(const std::map<std::string, std::string>& metadata);

// The metric's name as KEDA's own scalers call it (KEDA prefixes it with
// the trigger index); it does not depend on data.
std::string scalerMetricName(const ScalerQuery& q);

struct ScalerResult {
  std::string metricName;  // KEDA prefixes it with the trigger index
  double value = 0;
  double target = 0;
  bool active = false;
};

// The target the HPA is given (GetMetricSpec).
double scalerTarget(const ScalerQuery& q);

// Against the snapshot (its clusterServers resolve a `bootstrapServers`
// key). Throws ScalerError: NotFound when the group, topic or queue is not
// measured, Unavailable when its values are stale.
ScalerResult evaluateScaler(const ScalerQuery& q, const StatsSnapshot& snap);

}  // namespace queue_stats
