// One leader's watermarks: chunked ListOffsets, failing chunks split to
// find the partitions that fail (see rdkafka_watermarks.h).
#include "rdkafka_watermarks.h"

#include <algorithm>
#include <map>

namespace queue_stats::rdkafka {

namespace {

// Local errors (timeouts, transport) mean the broker gave no answer.
bool noAnswerFrom(rd_kafka_resp_err_t err) { return err < 0; }

// One leader's partitions: ListOffsets in chunks; a chunk that fails is
// split in halves (a bounded number of times) to find the partitions that
// fail, since librdkafka 2.0 fails a whole request for one of them.
class WatermarkQuery {
 public:
  WatermarkQuery(rd_kafka_t* rk, int64_t timeoutMs, std::vector<TopicPartition> parts)
      : rk_(rk), timeoutMs_(timeoutMs), parts_(std::move(parts)) {}

  void run() {
    deadline_ = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    for (size_t b = 0; b < parts_.size(); b += kChunk)
      query(b, std::min(parts_.size(), b + kChunk));
  }

  WatermarksAnswer out;
  bool answered = false;  // some request got the broker's answer
  std::string noAnswer;   // why a request got none (the leader is not asked again)

  // Requests name at most this many partitions: librdkafka matches each
  // answer to its request entry by linear search (quadratic per request).
  static constexpr size_t kChunk = 500;

 private:
  static constexpr int kMaxSplits = 64;

  void query(size_t b, size_t e) {
    if (!noAnswer.empty()) return fail(b, e, "no answer: " + noAnswer);
    if (Clock::now() >= deadline_)
      return fail(b, e, "no answer within " + std::to_string(timeoutMs_) + "ms");
    std::map<TopicPartition, PartitionWatermarks> got;
    rd_kafka_resp_err_t err = ask(b, e, -1, got);
    if (!err) err = ask(b, e, -2, got);
    if (!err) {
      answered = true;
      out.marks.merge(got);
      return;
    }
    if (noAnswerFrom(err)) {
      noAnswer = rd_kafka_err2str(err);
      return fail(b, e, noAnswer);
    }
    answered = true;
    if (e - b == 1 || splitsLeft_ == 0) return fail(b, e, rd_kafka_err2str(err));
    --splitsLeft_;
    size_t mid = b + (e - b) / 2;
    query(b, mid);
    query(mid, e);
  }

  // ListOffsets with timestamp -1 (latest) or -2 (earliest).
  rd_kafka_resp_err_t ask(size_t b, size_t e, int64_t which,
                          std::map<TopicPartition, PartitionWatermarks>& got) {
    ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(e - b)));
    for (size_t i = b; i < e; ++i)
      rd_kafka_topic_partition_list_add(list.get(), parts_[i].first.c_str(), parts_[i].second)
          ->offset = which;
    int left = static_cast<int>(std::max<int64_t>(
        1,
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count()));
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_, list.get(), left);
    for (int i = 0; !err && i < list->cnt; ++i) {
      const auto& el = list->elems[i];
      if (el.err) return el.err;
      auto& w = got[{el.topic, el.partition}];
      (which == -1 ? w.high : w.low) = el.offset;
    }
    return err;
  }

  void fail(size_t b, size_t e, const std::string& why) {
    for (size_t i = b; i < e; ++i) out.errors[parts_[i]] = why;
  }

  rd_kafka_t* rk_;
  int64_t timeoutMs_;
  std::vector<TopicPartition> parts_;
  Clock::time_point deadline_;
  int splitsLeft_ = kMaxSplits;
};

}  // namespace

LeaderWatermarks leaderWatermarks(rd_kafka_t* rk, int64_t timeoutMs,
                                  std::vector<TopicPartition> parts) {
  WatermarkQuery q(rk, timeoutMs, std::move(parts));
  q.run();
  return {std::move(q.out), q.answered, std::move(q.noAnswer)};
}

}  // namespace queue_stats::rdkafka
