// The app's schedules over scripted Kafka clients: each cluster on its own
// thread (a hanging one delays no other), stale values swept, unchanged
// sources kept across a reload, and stop() bounded while a request hangs.
// Run under TSan in the unit phase.
#include "queue_stats/app.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <sstream>
#include <thread>

using namespace queue_stats;
using namespace std::chrono_literals;

namespace {

// One topic "t" with one partition; group "g" committed at 1 of 5. A
// client of a cluster named "hang..." blocks in topics() until released.
class ScriptedClient final : public KafkaClient {
 public:
  ScriptedClient(std::string name, std::shared_ptr<std::atomic<bool>> release)
      : name_(std::move(name)), release_(std::move(release)) {}
  TopicsAnswer topics() override {
    if (name_.rfind("hang", 0) == 0)
      while (!*release_) std::this_thread::sleep_for(5ms);
    return {{{"t", 1}}, {}};
  }
  WatermarksAnswer watermarks(const std::vector<TopicPartition>& parts) override {
    WatermarksAnswer a;
    for (const auto& tp : parts) a.marks[tp] = {0, 5};
    return a;
  }
  std::map<std::string, int> groups() override { throw KafkaUnsupported("no ListGroups"); }
  std::map<std::string, GroupOffsets> committedOffsets(
      const std::vector<std::string>& groups, const std::vector<TopicPartition>&) override {
    std::map<std::string, GroupOffsets> out;
    for (const auto& g : groups) out[g].committed[{"t", 0}] = 1;
    return out;
  }
  TimestampsAnswer messageTimestamps(const std::vector<MessagePosition>& at) override {
    TimestampsAnswer a;
    for (const auto& p : at) a.timestampsMs[p] = 1000;
    return a;
  }

 private:
  std::string name_;
  std::shared_ptr<std::atomic<bool>> release_;
};

struct Fixture {
  std::ostringstream logText;
  common::Logger log{logText, 0, common::Logger::Format::Text};
  std::shared_ptr<std::atomic<bool>> release = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> clients{0};
  std::atomic<int64_t> now{1'000'000};
  AppSeams seams() {
    AppSeams s;
    s.kafka = [this](const KafkaClusterConfig& c) -> std::unique_ptr<KafkaClient> {
      ++clients;
      return std::make_unique<ScriptedClient>(c.name, release);
    };
    s.http = [](const std::string&) -> std::unique_ptr<HttpTransport> { return nullptr; };
    s.nowMs = [this] { return now.load(); };
    return s;
  }
};

QueueStatsConfig config(std::vector<std::string> clusters, int64_t staleAfterMs = 2000) {
  QueueStatsConfig cfg;
  cfg.intervalMs = 1000;
  for (const auto& name : clusters) {
    KafkaClusterConfig c;
    c.name = name;
    c.bootstrapServers = name + ":9092";
    c.groups = {"g"};
    c.timeoutMs = 1000;
    c.staleAfterMs = staleAfterMs;
    cfg.kafka.push_back(c);
  }
  return cfg;
}

bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds t = 5s) {
  auto deadline = std::chrono::steady_clock::now() + t;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

}  // namespace

TEST(App, AHangingClusterDelaysNoOtherAndStopIsBounded) {
  Fixture f;
  auto app = std::make_unique<App>(f.log, f.seams());
  app->configure(config({"hang", "ok"}));
  ASSERT_TRUE(waitFor([&] {
    return app->store().snapshot()->groups.count({"ok", "g"}) > 0;
  })) << "the healthy cluster is measured while the other one hangs";
  EXPECT_FALSE(app->store().snapshot()->groups.count({"hang", "g"}));
  EXPECT_FALSE(app->ready()) << "not every source finished a first cycle";
  EXPECT_EQ(app->store().snapshot()->clusterServers.at("ok"), "ok:9092");
  // stop() gives up on the hanging cycle at its deadline.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(app->stop(std::chrono::steady_clock::now() + 200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  *f.release = true;  // then it can be destroyed without waiting long
  EXPECT_TRUE(app->stop(std::chrono::steady_clock::now() + 5s));
  app.reset();
}

TEST(App, ValuesGoStaleWhenNotMeasuredAgainAndReloadKeepsUnchangedSources) {
  Fixture f;
  App app(f.log, f.seams());
  app.configure(config({"a"}));
  ASSERT_TRUE(waitFor([&] { return app.ready(); }));
  EXPECT_EQ(f.clients.load(), 1);
  auto g = app.store().snapshot()->groups.at({"a", "g"});
  EXPECT_FALSE(g.stale);
  ASSERT_TRUE(g.stats.partitions.at(0).lagSeconds);
  EXPECT_DOUBLE_EQ(*g.stats.partitions[0].lagSeconds, (1'000'000 - 1000) / 1000.0);
  // The same config again: the source (and its connections) are kept.
  app.configure(config({"a"}));
  EXPECT_EQ(f.clients.load(), 1);
  // A changed setting replaces it; a new cluster gets its own.
  app.configure(config({"a", "b"}, 3000));
  EXPECT_EQ(f.clients.load(), 3);
  ASSERT_TRUE(waitFor([&] { return app.store().snapshot()->groups.count({"b", "g"}) > 0; }));
  // The clock jumps past staleAfter: the sweep marks every value stale
  // before the next cycles make them current again.
  app.stop(std::chrono::steady_clock::now() + 5s);
  f.now += 10'000;
  // (stopped: no cycle renews them; the store's sweep is called directly)
  app.store().expire(f.now.load());
  for (const auto& [k, grp] : app.store().snapshot()->groups) EXPECT_TRUE(grp.stale) << k.first;
  // A cluster that leaves the config leaves the snapshot.
  app.store().configure({{"b", "b:9092"}}, false);
  EXPECT_FALSE(app.store().snapshot()->groups.count({"a", "g"}));
}

TEST(SourceLoop, RunsOnScheduleAndStopsWithoutWaitingForTheNextCycle) {
  std::atomic<int> cycles{0};
  SourceLoop loop(50ms, [&] { ++cycles; });
  ASSERT_TRUE(waitFor([&] { return cycles >= 3; }));
  EXPECT_TRUE(loop.cycled());
  loop.stop();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(loop.join(std::chrono::steady_clock::now() + 1s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
  int after = cycles;
  std::this_thread::sleep_for(120ms);
  EXPECT_EQ(cycles.load(), after) << "no cycle after stop";
}
