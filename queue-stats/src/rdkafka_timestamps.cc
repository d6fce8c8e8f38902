// The timestamp reader: one consumer kept across cycles, assigned at the
// asked offsets, read one message per position (see rdkafka_timestamps.h).
#include "rdkafka_timestamps.h"

#include <algorithm>
#include <map>

namespace queue_stats::rdkafka {

// The consumer's settings for reading single messages: assign only (its
// group.id is never joined, librdkafka needs one to assign), small
// fetches, an error rather than a jump for an offset out of range.
const Properties& readerProperties() {
  static const Properties p = {
      {"group.id", "queue-stats-timestamps"}, {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},       {"auto.offset.reset", "error"},
      {"fetch.max.bytes", "65536"},           {"max.partition.fetch.bytes", "1024"},
      {"message.max.bytes", "65536"},         {"queued.max.messages.kbytes", "256"},
      {"fetch.wait.max.ms", "100"},           {"fetch.error.backoff.ms", "100"},
  };
  return p;
}

class TimestampReader::Impl {
 public:
  Impl(HandlePtr rk, int64_t timeoutMs) : rk_(std::move(rk)), timeoutMs_(timeoutMs) {
    rd_kafka_poll_set_consumer(rk_.get());
  }

  TimestampsAnswer read(const std::vector<MessagePosition>& positions) {
    answer_ = {};
    cursors_.clear();
    for (const auto& pos : positions) {
      if (pos.offset < 0)
        answer_.errors[pos] = "invalid offset " + std::to_string(pos.offset);
      else
        cursors_[pos.tp].pending.push_back(pos.offset);
    }
    for (auto& [tp, c] : cursors_) {
      std::sort(c.pending.begin(), c.pending.end());
      c.pending.erase(std::unique(c.pending.begin(), c.pending.end()), c.pending.end());
    }
    open_ = cursors_.size();
    if (open_ > 0 && assign()) consume();
    for (auto& [tp, c] : cursors_)
      failRest(tp, c, "no message within " + std::to_string(timeoutMs_) + "ms");
    rd_kafka_assign(rk_.get(), nullptr);  // asynchronous: stops fetching
    return std::move(answer_);
  }

 private:
  // The offsets still to answer, in order; `next` is being read.
  struct Cursor {
    std::vector<int64_t> pending;
    size_t next = 0;
    bool done() const { return next >= pending.size(); }
  };

  bool assign() {
    ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(cursors_.size())));
    for (const auto& [tp, c] : cursors_)
      rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset =
          c.pending[0];
    rd_kafka_resp_err_t err = rd_kafka_assign(rk_.get(), list.get());
    if (!err) return true;
    for (auto& [tp, c] : cursors_)
      failRest(tp, c, std::string("assigning partitions failed: ") + rd_kafka_err2str(err));
    return false;
  }

  void consume() {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    while (open_ > 0) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      MessagePtr m(
          rd_kafka_consumer_poll(rk_.get(), static_cast<int>(std::min<int64_t>(left, 100))));
      if (m) handle(*m);
    }
  }

  void handle(const rd_kafka_message_t& m) {
    if (!m.rkt) return;  // a client-wide error: librdkafka logs it and retries
    TopicPartition tp{rd_kafka_topic_name(m.rkt), m.partition};
    auto it = cursors_.find(tp);
    if (it == cursors_.end() || it->second.done()) return;
    Cursor& c = it->second;
    if (!m.err) return onMessage(tp, c, m);
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      return failRest(
          tp, c,
          "no message at or after the offset: the partition ends at " + std::to_string(m.offset));
    if (m.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m.err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      answer_.errors[{tp, c.pending[c.next++]}] = rd_kafka_message_errstr(&m);
      return advance(tp, c);
    }
    failRest(tp, c, rd_kafka_message_errstr(&m));
  }

  // The first message at or after the offset being read answers every
  // asked offset up to its own (a compacted or aborted range between).
  void onMessage(const TopicPartition& tp, Cursor& c, const rd_kafka_message_t& m) {
    if (m.offset < c.pending[c.next]) return;  // fetched before the last seek
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(&m, &type);
    for (; !c.done() && c.pending[c.next] <= m.offset; ++c.next) {
      MessagePosition pos{tp, c.pending[c.next]};
      if (ts >= 0)
        answer_.timestampsMs[pos] = ts;
      else
        answer_.errors[pos] =
            "the message at offset " + std::to_string(m.offset) + " has no timestamp";
    }
    advance(tp, c);
  }

  void advance(const TopicPartition& tp, Cursor& c) {
    if (c.done()) return finish(tp);
    ListPtr list = partitionList(tp, c.pending[c.next]);
    ErrorPtr err(rd_kafka_seek_partitions(rk_.get(), list.get(), 0));  // 0: asynchronous
    if (err) failRest(tp, c, std::string("seek failed: ") + rd_kafka_error_string(err.get()));
  }

  void failRest(const TopicPartition& tp, Cursor& c, const std::string& why) {
    if (c.done()) return;
    for (; !c.done(); ++c.next) answer_.errors[{tp, c.pending[c.next]}] = why;
    finish(tp);
  }

  // A partition with nothing more to read is not paused: pausing 10,000
  // partitions made every later call on the same consumer 20 times slower
  // (librdkafka 2.0) and kept their state; its few further small fetches
  // end with the call's unassign.
  void finish(const TopicPartition&) { --open_; }

  HandlePtr rk_;
  int64_t timeoutMs_;
  std::map<TopicPartition, Cursor> cursors_;
  size_t open_ = 0;
  TimestampsAnswer answer_;
};

TimestampReader::TimestampReader(HandlePtr rk, int64_t timeoutMs)
    : impl_(std::make_unique<Impl>(std::move(rk), timeoutMs)) {}

TimestampReader::~TimestampReader() = default;

TimestampsAnswer TimestampReader::read(const std::vector<MessagePosition>& positions) {
  return impl_->read(positions);
}

}  // namespace queue_stats::rdkafka
