// A snapshot from the feed as external-metric series (in the feed module:
// it needs the protobuf messages).
#include <algorithm>
#include <cmath>
#include <limits>

#include "adapter/feed/feed_data.h"
#include "queue_stats.pb.h"

namespace adapter {

namespace pb = queuestats::v1;
using namespace feedmetric;

namespace {

// Ten years: any older is as stale as it gets, and the subtraction below
// cannot overflow.
constexpr int64_t kMaxAgeMs = int64_t{10} * 366 * 24 * 3600 * 1000;

// When it was measured, in the adapter's clock: queue-stats says how long
// ago (age_ms, as it sent the message), never at what time on its clock.
int64_t collectedAt(int64_t receivedAtMs, int64_t ageMs) {
  const int64_t age = std::clamp<int64_t>(ageMs, 0, kMaxAgeMs);
  if (receivedAtMs < std::numeric_limits<int64_t>::min() + age)
    return std::numeric_limits<int64_t>::min();
  return receivedAtMs - age;
}

using Labels = std::map<std::string, std::string>;

// One measurement's time and staleness, shared by every series made from it.
struct Measured {
  int64_t atMs;
  bool stale;
};

void add(FeedData& d, const char* metric, Labels labels, double value, Measured m) {
  d.metrics[metric].push_back({std::move(labels), value, m.atMs, m.stale});
}

// The group's members come with each of its topics: the freshest report
// wins, a stale one only when there is no other.
bool fresherThan(Measured a, Measured b) {
  if (a.stale != b.stale) return !a.stale;
  return a.atMs > b.atMs;
}

void addPartitions(FeedData& d, const pb::KafkaGroupTopic& t, const Labels& labels, Measured m) {
  for (const auto& p : t.partitions()) {
    if (p.committed() < 0) continue;  // nothing committed: no lag to speak of
    auto pl = labels;
    pl["partition"] = std::to_string(p.partition());
    // Not finite: no quantity says it.
    if (p.has_lag_seconds() && std::isfinite(p.lag_seconds()))
      add(d, kLagSeconds, pl, p.lag_seconds(), m);
    if (p.lag() >= 0) add(d, kLag, std::move(pl), static_cast<double>(p.lag()), m);
  }
}

void addTopic(FeedData& d, const pb::KafkaGroupTopic& t, Measured m) {
  Labels labels{{"cluster", t.cluster()}, {"consumergroup", t.group()}, {"topic", t.topic()}};
  // A topic where the group committed nothing has no lag to sum (as
  // kafka_exporter: no _sum series rather than a 0).
  if (t.partition_count() > t.partitions_without_commit()) {
    add(d, kLagSum, labels, static_cast<double>(t.lag_sum()), m);
    add(d, kOffsetSum, labels, static_cast<double>(t.current_offset_sum()), m);
  }
  if (t.has_lag_seconds_max() && std::isfinite(t.lag_seconds_max()))
    add(d, kLagSecondsMax, labels, t.lag_seconds_max(), m);
  addPartitions(d, t, labels, m);
}

void addQueue(FeedData& d, const pb::SqsQueue& q, Measured m) {
  Labels labels{{"queue_name", q.name()}, {"queue_url", q.url()}, {"region", q.region()}};
  add(d, kVisible, labels, static_cast<double>(q.visible()), m);
  add(d, kNotVisible, labels, static_cast<double>(q.not_visible()), m);
  add(d, kDelayed, std::move(labels), static_cast<double>(q.delayed()), m);
}

}  // namespace

FeedData feedDataFromSnapshot(const pb::Snapshot& snap, int64_t receivedAtMs) {
  FeedData d;
  d.version = snap.version();
  d.receivedAtMs = receivedAtMs;
  // Members are per group; a group spans several topic entries.
  std::map<std::pair<std::string, std::string>, std::pair<int32_t, Measured>> members;
  for (const auto& t : snap.kafka()) {
    const Measured m{collectedAt(receivedAtMs, t.age_ms()), t.stale()};
    addTopic(d, t, m);
    if (t.members() < 0) continue;
    auto [it, added] = members.try_emplace({t.cluster(), t.group()}, t.members(), m);
    if (!added && fresherThan(m, it->second.second)) it->second = {t.members(), m};
  }
  for (const auto& [key, v] : members)
    add(d, kMembers, {{"cluster", key.first}, {"consumergroup", key.second}},
        static_cast<double>(v.first), v.second);
  for (const auto& q : snap.sqs())
    addQueue(d, q, {collectedAt(receivedAtMs, q.age_ms()), q.stale()});
  return d;
}

}  // namespace adapter
