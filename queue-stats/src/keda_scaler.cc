#include "queue_stats/keda_scaler.h"

#include <algorithm>
#include <limits>

namespace queue_stats {

namespace {

using Code = ScalerError::Code;

// KEDA parses these with strconv.ParseInt: whole numbers only.
int64_t integer(const std::map<std::string, std::string>& m, const char* key, int64_t def) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return def;
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used, 10);
    if (used != it->second.size() || v < 0) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw ScalerError(
        Code::InvalidArgument,
        std::string(key) + " must be a non-negative whole number, got \"" + it->second + "\"");
  }
}

bool flag(const std::map<std::string, std::string>& m, const char* key, bool def) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return def;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  throw ScalerError(Code::InvalidArgument,
                    std::string(key) + " must be true or false, got \"" + it->second + "\"");
}

std::string text(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

// Offsets are whatever the brokers say; sums saturate instead of wrapping.
int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}
int64_t saturatingMul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

void checkFresh(int64_t collectedAtMs, int64_t nowMs, int64_t maxAgeMs, const std::string& what) {
  if (nowMs - collectedAtMs > maxAgeMs) {
    throw ScalerError(Code::Unavailable, what + " was last measured " +
                                             std::to_string((nowMs - collectedAtMs) / 1000) +
                                             " s ago (limit " + std::to_string(maxAgeMs / 1000) +
                                             " s); queue-stats cannot reach it now");
  }
}

}  // namespace

ScalerQuery parseScalerMetadata(const std::map<std::string, std::string>& m) {
  ScalerQuery q;
  std::string source = text(m, "source");
  if (source.empty())
    source = m.count("consumerGroup")                        ? "kafka"
             : (m.count("queueURL") || m.count("queueName")) ? "sqs"
                                                             : "";
  if (source == "kafka") {
    q.source = ScalerQuery::Source::Kafka;
    q.cluster = text(m, "cluster");
    q.bootstrapServers = text(m, "bootstrapServers");
    q.consumerGroup = text(m, "consumerGroup");
    q.topic = text(m, "topic");
    if (q.consumerGroup.empty())
      throw ScalerError(Code::InvalidArgument, "consumerGroup is required for Kafka");
    q.lagThreshold = integer(m, "lagThreshold", 10);
    if (q.lagThreshold <= 0)
      throw ScalerError(Code::InvalidArgument, "lagThreshold must be greater than 0");
    q.activationLagThreshold = integer(m, "activationLagThreshold", 0);
    q.allowIdleConsumers = flag(m, "allowIdleConsumers", false);
    q.limitToPartitionsWithLag = flag(m, "limitToPartitionsWithLag", false);
    if (q.allowIdleConsumers && q.limitToPartitionsWithLag)
      throw ScalerError(Code::InvalidArgument,
                        "allowIdleConsumers and limitToPartitionsWithLag cannot both be true");
    std::string policy = text(m, "offsetResetPolicy");
    if (!policy.empty() && policy != "latest" && policy != "earliest")
      throw ScalerError(Code::InvalidArgument, "offsetResetPolicy must be latest or earliest");
    q.offsetResetEarliest = policy == "earliest";
    q.scaleToZeroOnInvalidOffset = flag(m, "scaleToZeroOnInvalidOffset", false);
    if (flag(m, "excludePersistentLag", false))
      throw ScalerError(Code::InvalidArgument,
                        "excludePersistentLag is not supported by queue-stats");
  } else if (source == "sqs") {
    q.source = ScalerQuery::Source::Sqs;
    q.queueUrl = text(m, "queueURL");
    q.queueName = text(m, "queueName");
    if (q.queueName.empty() && !q.queueUrl.empty()) {
      std::string u = q.queueUrl;
      while (!u.empty() && u.back() == '/') u.pop_back();
      q.queueName = u.substr(u.rfind('/') + 1);
    }
    if (q.queueName.empty())
      throw ScalerError(Code::InvalidArgument, "queueURL (or queueName) is required for SQS");
    q.queueLength = integer(m, "queueLength", 5);
    if (q.queueLength <= 0)
      throw ScalerError(Code::InvalidArgument, "queueLength must be greater than 0");
    q.activationQueueLength = integer(m, "activationQueueLength", 0);
    q.scaleOnInFlight = flag(m, "scaleOnInFlight", true);
    q.scaleOnDelayed = flag(m, "scaleOnDelayed", false);
  } else {
    throw ScalerError(Code::InvalidArgument,
                      "scalerMetadata needs source (kafka or sqs), consumerGroup (Kafka) or "
                      "queueURL/queueName (SQS)");
  }
  return q;
}

std::string scalerMetricName(const ScalerQuery& q) {
  if (q.source == ScalerQuery::Source::Sqs) return "aws-sqs-" + q.queueName;
  return "kafka-" + (q.topic.empty() ? q.consumerGroup + "-topics" : q.topic);
}

ScalerResult evaluateScaler(const ScalerQuery& q, const StatsSnapshot& snap,
                            const std::map<std::string, std::string>& clusterServers, int64_t nowMs,
                            int64_t maxAgeMs) {
  ScalerResult r;
  if (q.source == ScalerQuery::Source::Sqs) {
    // By URL when it is the one queue-stats measures; else by name, which
    // must then be unambiguous (names repeat across accounts, and an
    // endpoint override changes the URLs).
    const StatsSnapshot::Queue* found = nullptr;
    if (auto it = snap.queues.find(q.queueUrl); it != snap.queues.end()) {
      found = &it->second;
    } else {
      for (const auto& [url, queue] : snap.queues) {
        if (queue.stats.name != q.queueName) continue;
        if (found)
          throw ScalerError(Code::InvalidArgument,
                            "several measured SQS queues are named " + q.queueName +
                                "; give queueURL as queue-stats measures it (" + url + ")");
        found = &queue;
      }
    }
    if (!found)
      throw ScalerError(Code::NotFound,
                        "SQS queue " + q.queueName +
                            " is not measured by queue-stats (or its last collection failed)");
    checkFresh(found->collectedAtMs, nowMs, maxAgeMs, "SQS queue " + q.queueName);
    const auto& s = found->stats;
    int64_t messages = saturatingAdd(saturatingAdd(s.visible, q.scaleOnInFlight ? s.notVisible : 0),
                                     q.scaleOnDelayed ? s.delayed : 0);
    r.value = static_cast<double>(messages);
    r.target = static_cast<double>(q.queueLength);
    r.active = messages > q.activationQueueLength;
    r.metricName = scalerMetricName(q);
    return r;
  }
  std::string cluster = q.cluster;
  if (cluster.empty()) {
    for (const auto& [name, servers] : clusterServers)
      if (q.bootstrapServers.empty() ? clusterServers.size() == 1 : servers == q.bootstrapServers)
        cluster = name;
    if (cluster.empty())
      throw ScalerError(
          Code::InvalidArgument,
          q.bootstrapServers.empty()
              ? "cluster is required: queue-stats measures several Kafka clusters"
              : "no configured Kafka cluster has bootstrapServers " + q.bootstrapServers);
  }
  auto g = snap.groups.find({cluster, q.consumerGroup});
  if (g == snap.groups.end())
    throw ScalerError(Code::NotFound,
                      "consumer group " + q.consumerGroup + " on cluster " + cluster +
                          " is not measured by queue-stats (or its last collection failed)");
  checkFresh(g->second.collectedAtMs, nowMs, maxAgeMs, "consumer group " + q.consumerGroup);
  int64_t total = 0;
  int64_t partitions = 0, withLag = 0;
  for (const auto& p : g->second.stats.partitions) {
    if (!q.topic.empty() && p.topic != q.topic) continue;
    ++partitions;
    int64_t lag;
    if (p.committed < 0) {
      // KEDA's rules for a partition without a committed offset.
      if (q.scaleToZeroOnInvalidOffset)
        lag = 0;
      else
        lag = q.offsetResetEarliest ? std::max<int64_t>(0, p.watermarks.high) : 1;
    } else {
      // KEDA's lag: log end minus committed (not counted from the low
      // watermark as the exposition's lag is).
      lag = p.watermarks.high > p.committed ? p.watermarks.high - p.committed : 0;
    }
    if (lag > 0) ++withLag;
    total = saturatingAdd(total, lag);
  }
  if (partitions == 0)
    throw ScalerError(Code::NotFound, "consumer group " + q.consumerGroup + " has no partitions" +
                                          (q.topic.empty() ? "" : " of topic " + q.topic) +
                                          " in queue-stats' data");
  int64_t value = total;
  // One consumer per partition at most: beyond that, extra replicas idle.
  // Integer division, as KEDA's.
  if (!q.allowIdleConsumers || q.limitToPartitionsWithLag) {
    int64_t bound = q.limitToPartitionsWithLag ? withLag : partitions;
    if (value / q.lagThreshold > bound) value = saturatingMul(bound, q.lagThreshold);
  }
  r.value = static_cast<double>(value);
  r.target = static_cast<double>(q.lagThreshold);
  r.active = total > q.activationLagThreshold;
  r.metricName = scalerMetricName(q);
  return r;
}

}  // namespace queue_stats
