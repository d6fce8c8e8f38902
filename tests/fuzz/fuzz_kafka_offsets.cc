// The numbers brokers report (committed offsets, watermarks, partition
// counts, errors), as arbitrary as a broken or hostile cluster could make
// them, through the lag collector and the exposition: no crash, lag never
// below -1, sums never negative, lag seconds never negative.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "queue_stats/collectors.h"
#include "queue_stats/exposition.h"

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
  int64_t i64() {
    int64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | byte();
    return v;
  }
  bool more() const { return i_ < n_; }

 private:
  const uint8_t* d_;
  size_t n_, i_ = 0;
};

class FuzzedKafka : public queue_stats::KafkaClient {
 public:
  explicit FuzzedKafka(Bytes& b) : b_(b) {}
  queue_stats::TopicsAnswer topics() override {
    if (b_.byte() == 0xff) throw queue_stats::KafkaError("metadata failed");
    queue_stats::TopicsAnswer t;
    for (int n = b_.byte() % 4; n > 0; --n)
      t.partitions["t" + std::to_string(b_.byte() % 5)] = b_.byte() % 6;
    if (b_.byte() == 0xfe) t.errors["t" + std::to_string(b_.byte() % 5)] = "leader not available";
    return t;
  }
  queue_stats::WatermarksAnswer watermarks(
      const std::vector<queue_stats::TopicPartition>& parts) override {
    queue_stats::WatermarksAnswer out;
    for (const auto& p : parts)
      if (b_.byte() == 0xfd)
        out.errors[p] = "not leader";
      else
        out.marks[p] = {b_.i64() % 1000000, b_.i64() % 1000000};
    return out;
  }
  queue_stats::TimestampsAnswer messageTimestamps(
      const std::vector<queue_stats::MessagePosition>& at) override {
    queue_stats::TimestampsAnswer out;
    for (const auto& p : at)
      if (b_.byte() & 1)
        out.timestampsMs[p] = b_.i64();  // any timestamp, also far in the future or past
      else
        out.errors[p] = "no message";
    return out;
  }
  std::map<std::string, int> groups() override {
    uint8_t how = b_.byte();
    if (how & 1) throw queue_stats::KafkaUnsupported("no");
    if (how & 2) throw queue_stats::KafkaError("failed");
    return {{"g" + std::to_string(b_.byte() % 3), b_.byte()}, {"other", b_.byte()}};
  }
  std::map<std::string, queue_stats::GroupOffsets> committedOffsets(
      const std::vector<std::string>& groups,
      const std::vector<queue_stats::TopicPartition>& fallback) override {
    std::map<std::string, queue_stats::GroupOffsets> out;
    for (const auto& g : groups) {
      auto& go = out[g];
      if (b_.byte() == 0xee) go.error = "fuzzed error";
      for (const auto& tp : fallback)
        if (b_.byte() & 1) go.committed[tp] = b_.i64() % 2000000 - 1000;
    }
    return out;
  }

 private:
  Bytes& b_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes b(data, size);
  queue_stats::KafkaClusterConfig cfg;
  cfg.name = "fuzz";
  cfg.groups = {"g0", "g1"};
  if (b.byte() & 1) cfg.groupPattern = "^g";
  if (b.byte() & 1) cfg.topics = {"t1", "t3"};
  FuzzedKafka k(b);
  queue_stats::StatsStore store;
  auto cycle = queue_stats::KafkaCollector(cfg, k, [] { return int64_t{1700000000000}; }).collect();
  for (const auto& [g, gs] : cycle.groups)
    for (const auto& p : gs.partitions) {
      if (queue_stats::consumerLag(p) < -1 || queue_stats::expiredMessages(p) < 0) __builtin_trap();
      if (p.lagSeconds && !(*p.lagSeconds >= 0)) __builtin_trap();
    }
  store.publish(cycle, 1, 30000);
  queue_stats::CollectionMetrics metrics;
  std::string text = queue_stats::renderMetrics(store, metrics);
  // Sums never go negative (the -1 of a partition without a commit stays out).
  for (size_t p = text.find("\nkafka_consumergroup_lag_sum{"); p != std::string::npos;
       p = text.find("\nkafka_consumergroup_lag_sum{", p + 1)) {
    size_t sp = text.find("} ", p);
    if (sp == std::string::npos || text[sp + 2] == '-') __builtin_trap();
  }
  return 0;
}
