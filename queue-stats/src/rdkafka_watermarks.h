// The watermarks of one partition leader's partitions (internal to
// queue_stats_kafka): ListOffsets in chunks; a chunk that fails is split in
// halves (a bounded number of times) to find the partitions that fail,
// since librdkafka 2.0 fails a whole request for one of them.
#pragma once

#include "rdkafka_handles.h"

namespace queue_stats::rdkafka {

struct LeaderWatermarks {
  WatermarksAnswer out;
  bool answered = false;  // some request got the broker's answer
  std::string noAnswer;   // why a request got none (the leader is not asked again)
};

// Asks within `timeoutMs` in all.
LeaderWatermarks leaderWatermarks(rd_kafka_t* rk, int64_t timeoutMs,
                                  std::vector<TopicPartition> parts);

}  // namespace queue_stats::rdkafka
