// What the adapter receives on the queue-stats feed: any bytes that parse
// as a Snapshot become external-metric series without a crash, every
// served name is a listed one, and no series is made from a partition
// without a commit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "adapter/feed/feed_data.h"
#include "queue_stats.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  queuestats::v1::Snapshot snap;
  if (!snap.ParseFromArray(data, static_cast<int>(size))) return 0;
  adapter::FeedData d = adapter::feedDataFromSnapshot(snap);
  const auto& names = adapter::feedMetricNames();
  for (const auto& [name, series] : d.metrics) {
    bool listed = false;
    for (const auto& n : names) listed = listed || n == name;
    if (!listed) std::abort();
    if (name == "kafka_consumergroup_lag")
      for (const auto& s : series)
        if (s.value < 0) std::abort();
  }
  return 0;
}
