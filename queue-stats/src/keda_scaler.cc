#include "queue_stats/keda_scaler.h"

#include <algorithm>
#include <cmath>
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

// Seconds, as KEDA parses its float keys (strconv.ParseFloat): a finite,
// non-negative number.
std::optional<double> seconds(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return std::nullopt;
  try {
    size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used != it->second.size() || !std::isfinite(v) || v < 0) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw ScalerError(
        Code::InvalidArgument,
        std::string(key) + " must be a non-negative number of seconds, got \"" + it->second + "\"");
  }
}

void checkFresh(bool stale, int64_t collectedAtMs, const std::string& what) {
  if (stale)
    throw ScalerError(Code::Unavailable, what + " is stale: queue-stats last measured it at " +
                                             std::to_string(collectedAtMs / 1000) +
                                             " (Unix seconds) and cannot measure it now");
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
    q.lagSecondsThreshold = seconds(m, "lagSecondsThreshold");
    if (q.lagSecondsThreshold && *q.lagSecondsThreshold <= 0)
      throw ScalerError(Code::InvalidArgument, "lagSecondsThreshold must be greater than 0");
    q.activationLagSecondsThreshold = seconds(m, "activationLagSecondsThreshold").value_or(0);
    if (m.count("activationLagSecondsThreshold") && !q.lagSecondsThreshold)
      throw ScalerError(Code::InvalidArgument,
                        "activationLagSecondsThreshold needs lagSecondsThreshold");
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
  return "kafka-" + (q.topic.empty() ? q.consumerGroup + "-topics" : q.topic) +
         (q.lagSecondsThreshold ? "-lag-seconds" : "");
}

double scalerTarget(const ScalerQuery& q) {
  if (q.source == ScalerQuery::Source::Sqs) return static_cast<double>(q.queueLength);
  return q.lagSecondsThreshold ? *q.lagSecondsThreshold : static_cast<double>(q.lagThreshold);
}

namespace {

ScalerResult evaluateSqs(const ScalerQuery& q, const StatsSnapshot& snap) {
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
                      "SQS queue " + q.queueName + " is not measured by queue-stats");
  checkFresh(found->stale, found->collectedAtMs, "SQS queue " + q.queueName);
  const auto& s = found->stats;
  int64_t messages = saturatingAdd(saturatingAdd(s.visible, q.scaleOnInFlight ? s.notVisible : 0),
                                   q.scaleOnDelayed ? s.delayed : 0);
  ScalerResult r;
  r.value = static_cast<double>(messages);
  r.target = scalerTarget(q);
  r.active = messages > q.activationQueueLength;
  r.metricName = scalerMetricName(q);
  return r;
}

std::string resolveCluster(const ScalerQuery& q, const StatsSnapshot& snap) {
  if (!q.cluster.empty()) return q.cluster;
  std::string cluster;
  for (const auto& [name, servers] : snap.clusterServers)
    if (q.bootstrapServers.empty() ? snap.clusterServers.size() == 1
                                   : servers == q.bootstrapServers)
      cluster = name;
  if (cluster.empty())
    throw ScalerError(
        Code::InvalidArgument,
        q.bootstrapServers.empty()
            ? "cluster is required: queue-stats measures several Kafka clusters"
            : "no configured Kafka cluster has bootstrapServers " + q.bootstrapServers);
  return cluster;
}

// The partitions KEDA's Kafka scaler counts: with `topic`, every partition
// of it (from the topic's own watermarks when the group never committed
// on it); without, those of the topics the group committed on.
std::vector<GroupPartition> kafkaPartitions(const ScalerQuery& q, const StatsSnapshot& snap,
                                            const std::string& cluster) {
  auto g = snap.groups.find({cluster, q.consumerGroup});
  if (g == snap.groups.end())
    throw ScalerError(Code::NotFound, "consumer group " + q.consumerGroup + " on cluster " +
                                          cluster + " is not measured by queue-stats");
  checkFresh(g->second.stale, g->second.collectedAtMs, "consumer group " + q.consumerGroup);
  std::vector<GroupPartition> out;
  for (const auto& p : g->second.stats.partitions)
    if (q.topic.empty() || p.topic == q.topic) out.push_back(p);
  if (out.empty() && !q.topic.empty()) {
    if (auto t = snap.topics.find({cluster, q.topic}); t != snap.topics.end()) {
      checkFresh(t->second.stale, t->second.collectedAtMs, "topic " + q.topic);
      const auto& parts = t->second.stats.partitions;
      for (size_t p = 0; p < parts.size(); ++p)
        out.push_back({q.topic, static_cast<int32_t>(p), -1, parts[p], std::nullopt});
    }
  }
  if (out.empty())
    throw ScalerError(Code::NotFound, "consumer group " + q.consumerGroup + " has no partitions" +
                                          (q.topic.empty() ? "" : " of topic " + q.topic) +
                                          " in queue-stats' data");
  return out;
}

// KEDA's lag for one partition, with its rules for one without a commit.
int64_t kedaLag(const ScalerQuery& q, const GroupPartition& p) {
  if (p.committed < 0) {
    if (q.scaleToZeroOnInvalidOffset) return 0;
    return q.offsetResetEarliest ? std::max<int64_t>(0, p.watermarks.high) : 1;
  }
  // Log end minus committed (not counted from the low watermark as the
  // exposition's lag is).
  return p.watermarks.high > p.committed ? p.watermarks.high - p.committed : 0;
}

ScalerResult evaluateLag(const ScalerQuery& q, const std::vector<GroupPartition>& parts) {
  int64_t total = 0, withLag = 0;
  for (const auto& p : parts) {
    int64_t lag = kedaLag(q, p);
    if (lag > 0) ++withLag;
    total = saturatingAdd(total, lag);
  }
  int64_t value = total;
  // One consumer per partition at most: beyond that, extra replicas idle.
  // Integer division, as KEDA's.
  if (!q.allowIdleConsumers || q.limitToPartitionsWithLag) {
    int64_t bound = q.limitToPartitionsWithLag ? withLag : static_cast<int64_t>(parts.size());
    if (value / q.lagThreshold > bound) value = saturatingMul(bound, q.lagThreshold);
  }
  ScalerResult r;
  r.value = static_cast<double>(value);
  r.active = total > q.activationLagThreshold;
  return r;
}

// The age of the oldest unread message over the partitions with a commit.
ScalerResult evaluateLagSeconds(const ScalerQuery& q, const std::vector<GroupPartition>& parts) {
  std::optional<double> oldest;
  for (const auto& p : parts) {
    if (p.committed < 0) continue;
    if (!p.lagSeconds)
      throw ScalerError(Code::Unavailable, "the oldest unread message of " + p.topic + "[" +
                                               std::to_string(p.partition) +
                                               "] could not be read this cycle");
    oldest = std::max(oldest.value_or(0), *p.lagSeconds);
  }
  if (!oldest)
    throw ScalerError(Code::NotFound,
                      "consumer group " + q.consumerGroup + " has committed nothing" +
                          (q.topic.empty() ? "" : " on topic " + q.topic) + ": no lag in seconds");
  ScalerResult r;
  r.value = *oldest;
  r.active = *oldest > q.activationLagSecondsThreshold;
  return r;
}

}  // namespace

ScalerResult evaluateScaler(const ScalerQuery& q, const StatsSnapshot& snap) {
  if (q.source == ScalerQuery::Source::Sqs) return evaluateSqs(q, snap);
  std::vector<GroupPartition> parts = kafkaPartitions(q, snap, resolveCluster(q, snap));
  ScalerResult r = q.lagSecondsThreshold ? evaluateLagSeconds(q, parts) : evaluateLag(q, parts);
  r.target = scalerTarget(q);
  r.metricName = scalerMetricName(q);
  return r;
}

}  // namespace queue_stats
