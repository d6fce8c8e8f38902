// What the adapter receives on the queue-stats feed: any bytes that parse
// as a Snapshot become external-metric series without a crash, every
// served name is a listed one, every value is finite, no series is made
// from a partition without a commit, and no age (negative, huge) moves a
// series after its receipt or overflows.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "adapter/feed/feed_data.h"
#include "queue_stats.pb.h"

namespace {

constexpr int64_t kReceivedAt = 1700000000000;

// The partitions of each group and topic that have a commit.
std::set<std::string> committedPartitions(const queuestats::v1::Snapshot& snap) {
  std::set<std::string> out;
  for (const auto& t : snap.kafka())
    for (const auto& p : t.partitions())
      if (p.committed() >= 0)
        out.insert(t.cluster() + "\n" + t.group() + "\n" + t.topic() + "\n" +
                   std::to_string(p.partition()));
  return out;
}

bool perPartition(const std::string& name) {
  return name == adapter::feedmetric::kLag || name == adapter::feedmetric::kLagSeconds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  queuestats::v1::Snapshot snap;
  if (!snap.ParseFromArray(data, static_cast<int>(size))) return 0;
  adapter::FeedData d = adapter::feedDataFromSnapshot(snap, kReceivedAt);
  const auto& names = adapter::feedMetricNames();
  const auto committed = committedPartitions(snap);
  for (const auto& [name, series] : d.metrics) {
    bool listed = false;
    for (const auto& n : names) listed = listed || n == name;
    if (!listed) std::abort();
    for (const auto& s : series) {
      if (!std::isfinite(s.value) || s.collectedAtMs > kReceivedAt || s.collectedAtMs < 0)
        std::abort();
      if (name == adapter::feedmetric::kLag && s.value < 0) std::abort();
      if (perPartition(name) &&
          !committed.count(s.labels.at("cluster") + "\n" + s.labels.at("consumergroup") + "\n" +
                           s.labels.at("topic") + "\n" + s.labels.at("partition")))
        std::abort();
    }
  }
  return 0;
}
