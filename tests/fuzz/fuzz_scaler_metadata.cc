// KEDA's scalerMetadata comes from ScaledObjects any namespace user can
// write. Lines of key=value become the metadata, evaluated against a
// snapshot whose offsets (and lag seconds) come from the same bytes: no
// crash, no signed overflow, and an answer is never negative.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "queue_stats/keda_scaler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> metadata;
  queue_stats::StatsSnapshot snap;
  snap.version = 1;
  snap.clusterServers = {{"main", "k:9092"}};
  auto& group = snap.groups[{"main", "g"}];
  group.cluster = "main";
  group.stats.group = "g";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    // "@topic partition committed low high [lagSeconds]" adds a partition.
    if (!line.empty() && line[0] == '@') {
      char topic[32] = {0};
      long long part = 0, committed = 0, low = 0, high = 0;
      double seconds = 0;
      int n = std::sscanf(line.c_str() + 1, "%31s %lld %lld %lld %lld %lf", topic, &part,
                          &committed, &low, &high, &seconds);
      if (n >= 5)
        group.stats.partitions.push_back(
            {topic,
             static_cast<int32_t>(part),
             committed,
             {low, high},
             n == 6 && seconds >= 0 ? std::optional(seconds) : std::nullopt});
      continue;
    }
    if (line == "stale") group.stale = true;
    auto eq = line.find('=');
    if (eq != std::string::npos) metadata[line.substr(0, eq)] = line.substr(eq + 1);
  }
  queue_stats::StatsSnapshot::Queue q;
  q.stats = {"us-east-1", "orders", "https://sqs.us-east-1.amazonaws.com/1/orders", 3, 2, 1};
  snap.queues[q.stats.url] = q;
  try {
    auto query = queue_stats::parseScalerMetadata(metadata);
    auto r = queue_stats::evaluateScaler(query, snap);
    if (!(r.value >= 0) || !(r.target > 0)) std::abort();
  } catch (const queue_stats::ScalerError&) {
  }
  return 0;
}
