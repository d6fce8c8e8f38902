// The snapshot as the gRPC feed sends it (queuestats.v1.Snapshot).
#pragma once

#include <cstdint>

#include "queue_stats/stats.h"

namespace queuestats::v1 {
class Filter;
class Snapshot;
}  // namespace queuestats::v1

namespace queue_stats {

// `snap` with `filter` applied. Each entry carries its age as of `nowMs`
// (queue-stats' clock) and whether it is stale, so a receiver judges
// freshness without comparing clocks.
void toProto(const StatsSnapshot& snap, const queuestats::v1::Filter& filter, int64_t nowMs,
             queuestats::v1::Snapshot& out);

}  // namespace queue_stats
