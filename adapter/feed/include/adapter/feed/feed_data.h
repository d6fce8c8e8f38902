// queue-stats' snapshots as external-metric series: the names served and
// the labels, as queue-stats' Prometheus exposition has them (so a rule
// written against the scraped series selects the same way).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace queuestats::v1 {
class Snapshot;
}  // namespace queuestats::v1

namespace adapter {

namespace feedmetric {

inline constexpr const char* kLagSum = "kafka_consumergroup_lag_sum";
inline constexpr const char* kLag = "kafka_consumergroup_lag";
inline constexpr const char* kLagSecondsMax = "kafka_consumergroup_lag_seconds_max";
inline constexpr const char* kLagSeconds = "kafka_consumergroup_lag_seconds";
inline constexpr const char* kOffsetSum = "kafka_consumergroup_current_offset_sum";
inline constexpr const char* kMembers = "kafka_consumergroup_members";
inline constexpr const char* kVisible = "aws_sqs_approximate_number_of_messages_visible";
inline constexpr const char* kNotVisible = "aws_sqs_approximate_number_of_messages_not_visible";
inline constexpr const char* kDelayed = "aws_sqs_approximate_number_of_messages_delayed";

}  // namespace feedmetric

// One external-metric series from the feed.
struct FeedSeries {
  std::map<std::string, std::string> labels;
  double value = 0;
  // When queue-stats measured it, in the adapter's clock (received at
  // minus the feed's age_ms: queue-stats' clock is never compared).
  int64_t collectedAtMs = 0;
  // queue-stats says it is older than its staleAfter: not a current value.
  bool stale = false;
};

// The feed's metrics by name.
struct FeedData {
  std::map<std::string, std::vector<FeedSeries>> metrics;
  uint64_t version = 0;
  int64_t receivedAtMs = 0;
};

// The metric names the feed serves (listed in discovery while the feed is
// configured, whether or not data has arrived).
const std::vector<std::string>& feedMetricNames();

// A snapshot received at `receivedAtMs` (the adapter's clock) as
// external-metric series: per group and topic the lag and committed-offset
// sums and the oldest unread message's age (when read), per partition the
// lag and its age in seconds (only where the group committed), the members
// when known, and the three SQS counts per queue. Total over any input: an
// age_ms below 0 counts as 0, a huge one is clamped.
FeedData feedDataFromSnapshot(const queuestats::v1::Snapshot& snap, int64_t receivedAtMs);

}  // namespace adapter
