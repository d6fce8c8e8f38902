// A snapshot from the feed as external-metric series (in the feed module:
// it needs the protobuf messages).
#include "adapter/feed/feed_data.h"
#include "queue_stats.pb.h"

namespace adapter {

namespace pb = queuestats::v1;
using namespace feedmetric;

FeedData feedDataFromSnapshot(const pb::Snapshot& snap) {
  FeedData d;
  d.version = snap.version();
  // Members are per group; a group spans several topic entries.
  std::map<std::pair<std::string, std::string>, std::pair<int32_t, int64_t>> members;
  for (const auto& t : snap.kafka()) {
    std::map<std::string, std::string> labels{
        {"cluster", t.cluster()}, {"consumergroup", t.group()}, {"topic", t.topic()}};
    int64_t at = t.collected_at_ms();
    // A topic where the group committed nothing has no lag to sum (as
    // kafka_exporter: no _sum series rather than a 0).
    if (t.partition_count() > t.partitions_without_commit()) {
      d.metrics[kLagSum].push_back({labels, static_cast<double>(t.lag_sum()), at});
      d.metrics[kOffsetSum].push_back({labels, static_cast<double>(t.current_offset_sum()), at});
    }
    for (const auto& p : t.partitions()) {
      if (p.committed() < 0 || p.lag() < 0) continue;
      auto pl = labels;
      pl["partition"] = std::to_string(p.partition());
      d.metrics[kLag].push_back({std::move(pl), static_cast<double>(p.lag()), at});
    }
    if (t.members() >= 0) members[{t.cluster(), t.group()}] = {t.members(), at};
  }
  for (const auto& [key, m] : members)
    d.metrics[kMembers].push_back({{{"cluster", key.first}, {"consumergroup", key.second}},
                                   static_cast<double>(m.first),
                                   m.second});
  for (const auto& q : snap.sqs()) {
    std::map<std::string, std::string> labels{
        {"queue_name", q.name()}, {"queue_url", q.url()}, {"region", q.region()}};
    int64_t at = q.collected_at_ms();
    d.metrics[kVisible].push_back({labels, static_cast<double>(q.visible()), at});
    d.metrics[kNotVisible].push_back({labels, static_cast<double>(q.not_visible()), at});
    d.metrics[kDelayed].push_back({std::move(labels), static_cast<double>(q.delayed()), at});
  }
  return d;
}

}  // namespace adapter
