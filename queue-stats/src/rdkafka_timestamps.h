// Message timestamps by position (internal to queue_stats_kafka).
#pragma once

#include "rdkafka_handles.h"

namespace queue_stats::rdkafka {

// Reads the first message at or after each position with one consumer
// kept across calls: every partition is assigned at its smallest asked
// offset and seeks on to its next one when a message answered; all within
// one timeout per call, then everything is unassigned.
class TimestampReader {
 public:
  // `rk`: a consumer made with readerProperties().
  TimestampReader(HandlePtr rk, int64_t timeoutMs);
  ~TimestampReader();
  TimestampReader(const TimestampReader&) = delete;
  TimestampReader& operator=(const TimestampReader&) = delete;
  TimestampsAnswer read(const std::vector<MessagePosition>& positions);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The consumer's settings for reading single messages.
const Properties& readerProperties();

}  // namespace queue_stats::rdkafka
