#include "queue_stats/stats.h"

#include <algorithm>

namespace queue_stats {

int64_t consumerLag(const GroupPartition& p) {
  if (p.committed < 0) return -1;
  return std::max<int64_t>(0, p.watermarks.high - std::max(p.committed, p.watermarks.low));
}

int64_t expiredMessages(const GroupPartition& p) {
  if (p.committed < 0 || p.committed >= p.watermarks.low) return 0;
  return p.watermarks.low - p.committed;
}

}  // namespace queue_stats
