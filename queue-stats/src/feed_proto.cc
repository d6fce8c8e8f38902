#include "queue_stats/feed_proto.h"

#include <algorithm>
#include <map>
#include <set>

#include "queue_stats.pb.h"

namespace queue_stats {

namespace pb = queuestats::v1;

namespace {

bool matches(const std::string& want, const std::string& have) {
  return want.empty() || want == have;
}

// A partition into its topic's entry: the sums count partitions with a
// commit only (kafka_exporter's rule), the lag seconds take the largest.
void addPartition(const GroupPartition& p, pb::KafkaGroupTopic& t) {
  auto* pp = t.add_partitions();
  pp->set_partition(p.partition);
  pp->set_committed(p.committed);
  pp->set_high(p.watermarks.high);
  pp->set_low(p.watermarks.low);
  pp->set_lag(consumerLag(p));
  if (p.lagSeconds) {
    pp->set_lag_seconds(*p.lagSeconds);
    t.set_lag_seconds_max(t.has_lag_seconds_max() ? std::max(t.lag_seconds_max(), *p.lagSeconds)
                                                  : *p.lagSeconds);
  }
  t.set_partition_count(t.partition_count() + 1);
  if (p.committed < 0) {
    t.set_partitions_without_commit(t.partitions_without_commit() + 1);
  } else {
    t.set_lag_sum(t.lag_sum() + consumerLag(p));
    t.set_current_offset_sum(t.current_offset_sum() + p.committed);
  }
}

void addGroup(const StatsSnapshot::Group& g, const pb::Filter& f, int64_t nowMs,
              pb::Snapshot& out) {
  std::map<std::string, pb::KafkaGroupTopic*> byTopic;
  std::set<pb::KafkaGroupTopic*> incomplete;
  for (const auto& p : g.stats.partitions) {
    if (!matches(f.topic(), p.topic)) continue;
    auto& t = byTopic[p.topic];
    if (!t) {
      t = out.add_kafka();
      t->set_cluster(g.cluster);
      t->set_group(g.stats.group);
      t->set_topic(p.topic);
      t->set_members(g.stats.members.value_or(-1));
      t->set_collected_at_ms(g.collectedAtMs);
      t->set_age_ms(std::max<int64_t>(0, nowMs - g.collectedAtMs));
      t->set_stale(g.stale);
    }
    addPartition(p, *t);
    // A partition whose oldest message could not be read: no max for the
    // topic (it could only look younger than it is).
    if (p.committed >= 0 && !p.lagSeconds) incomplete.insert(t);
  }
  for (auto* t : incomplete) t->clear_lag_seconds_max();
}

void addQueue(const StatsSnapshot::Queue& q, int64_t nowMs, pb::Snapshot& out) {
  auto* s = out.add_sqs();
  s->set_region(q.stats.region);
  s->set_name(q.stats.name);
  s->set_url(q.stats.url);
  s->set_visible(q.stats.visible);
  s->set_not_visible(q.stats.notVisible);
  s->set_delayed(q.stats.delayed);
  s->set_collected_at_ms(q.collectedAtMs);
  s->set_age_ms(std::max<int64_t>(0, nowMs - q.collectedAtMs));
  s->set_stale(q.stale);
}

}  // namespace

void toProto(const StatsSnapshot& snap, const pb::Filter& f, int64_t nowMs, pb::Snapshot& out) {
  out.set_version(snap.version);
  int64_t generated = 0;
  if (matches(f.source(), "kafka")) {
    for (const auto& [key, g] : snap.groups) {
      if (!matches(f.cluster(), g.cluster) || !matches(f.group(), g.stats.group)) continue;
      addGroup(g, f, nowMs, out);
      generated = std::max(generated, g.collectedAtMs);
    }
  }
  if (matches(f.source(), "sqs") && f.cluster().empty() && f.group().empty() && f.topic().empty()) {
    for (const auto& [url, q] : snap.queues) {
      if (!matches(f.queue(), q.stats.name)) continue;
      addQueue(q, nowMs, out);
      generated = std::max(generated, q.collectedAtMs);
    }
  }
  out.set_generated_at_ms(generated);
}

}  // namespace queue_stats
