// The Kafka cycle over a scripted KafkaClient (discovery, filters,
// failures), and the SQS cycle over a scripted SqsApi.
#include "queue_stats/collectors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

using namespace queue_stats;

namespace {

class ScriptedKafka : public KafkaClient {
 public:
  std::map<std::string, int> topicMap{{"orders", 2}, {"payments", 1}, {"audit", 1}};
  std::map<std::string, std::string> topicErrors;
  std::map<TopicPartition, std::string> partitionErrors;
  std::map<std::string, GroupOffsets> offsets;
  bool listSupported = true, listFails = false, metadataFails = false;
  std::vector<std::string> calls;
  // Message timestamps by position; a position not here fails its read.
  std::map<MessagePosition, int64_t> messageTimes;
  std::vector<MessagePosition> lastPositions;

  TopicsAnswer topics() override {
    calls.push_back("topics");
    if (metadataFails)
      throw KafkaError("metadata request failed: Local: All broker connections are down");
    return {topicMap, topicErrors};
  }
  WatermarksAnswer watermarks(const std::vector<TopicPartition>& parts) override {
    calls.push_back("watermarks " + std::to_string(parts.size()));
    WatermarksAnswer out;
    for (const auto& tp : parts)
      if (partitionErrors.count(tp))
        out.errors[tp] = partitionErrors[tp];
      else
        out.marks[tp] = {10, 100 + tp.second};
    return out;
  }
  TimestampsAnswer messageTimestamps(const std::vector<MessagePosition>& at) override {
    calls.push_back("timestamps " + std::to_string(at.size()));
    lastPositions = at;
    TimestampsAnswer out;
    for (const auto& p : at)
      if (messageTimes.count(p))
        out.timestampsMs[p] = messageTimes[p];
      else
        out.errors[p] = "no message within 1000ms";
    return out;
  }
  std::map<std::string, int> groups() override {
    calls.push_back("groups");
    if (!listSupported)
      throw KafkaUnsupported(
          "listing consumer groups failed: Local: Required feature not supported by broker");
    if (listFails) throw KafkaError("listing consumer groups failed: Local: Timed out");
    return {{"orders-a", 3}, {"orders-b", 0}, {"billing", 1}, {"explicit", 2}};
  }
  std::vector<TopicPartition> lastFallback;
  std::map<std::string, GroupOffsets> committedOffsets(
      const std::vector<std::string>& groups,
      const std::vector<TopicPartition>& fallback) override {
    calls.push_back("offsets " + std::to_string(groups.size()));
    lastFallback = fallback;
    std::map<std::string, GroupOffsets> out;
    for (const auto& g : groups) out[g] = offsets.count(g) ? offsets[g] : GroupOffsets{};
    return out;
  }
};

KafkaClusterConfig cluster() {
  KafkaClusterConfig c;
  c.name = "main";
  c.bootstrapServers = "x:9092";
  c.groups = {"explicit"};
  return c;
}

constexpr int64_t kNow = 1700000000000;

KafkaCycle collectKafka(const KafkaClusterConfig& cfg, KafkaClient& k) {
  return KafkaCollector(cfg, k, [] { return kNow; }).collect();
}

}  // namespace

TEST(KafkaCycle, ReportsEveryPartitionOfConsumedTopics) {
  ScriptedKafka k;
  k.offsets["explicit"] = {{{{"orders", 0}, 50}}, ""};
  KafkaCycle c = collectKafka(cluster(), k);
  ASSERT_TRUE(c.clusterOk) << c.clusterError;
  // Groups are listed once the brokers answered metadata; offsets are read
  // before watermarks (so HW >= any commit).
  ASSERT_EQ(k.calls.size(), 5u);
  EXPECT_EQ(k.calls[0], "topics");
  EXPECT_EQ(k.calls[1], "groups");
  EXPECT_EQ(k.calls[2], "offsets 1");
  EXPECT_EQ(k.calls[3], "watermarks 2");
  EXPECT_EQ(k.calls[4], "timestamps 1") << "the one lagging partition's oldest unread message";
  EXPECT_EQ(k.lastFallback.size(), 4u)
      << "every partition of every topic, for groups that answer none";
  const auto& g = c.groups.at("explicit");
  ASSERT_EQ(g.partitions.size(), 2u);
  EXPECT_EQ(g.partitions[0].committed, 50);
  EXPECT_EQ(g.partitions[0].watermarks.high, 100);
  EXPECT_EQ(g.partitions[1].committed, -1) << "partition 1 has no commit: reported, lag -1";
  EXPECT_EQ(g.members, 2) << "from the same listing";
  ASSERT_EQ(c.topics.size(), 1u);
  EXPECT_EQ(c.topics[0].topic, "orders");
}

TEST(KafkaCycle, PatternDiscoveryAndItsAbsence) {
  ScriptedKafka k;
  auto cfg = cluster();
  cfg.groupPattern = "^orders-";
  k.offsets["orders-a"] = {{{{"payments", 0}, 3}}, ""};
  KafkaCycle c = collectKafka(cfg, k);
  EXPECT_EQ(c.groups.size(), 3u);  // explicit, orders-a, orders-b
  EXPECT_FALSE(c.groups.count("billing"));
  EXPECT_EQ(c.groups.at("orders-a").members, 3);
  EXPECT_EQ(c.groups.at("orders-b").members, 0)
      << "a group the brokers describe as empty has 0 members";
  EXPECT_EQ(std::count(k.calls.begin(), k.calls.end(), "groups"), 1) << "one listing per cycle";
  // Brokers without ListGroups (the mock cluster): the explicit groups are
  // still measured, without member counts, and the discovery failure is
  // reported.
  k.listSupported = false;
  c = collectKafka(cfg, k);
  EXPECT_EQ(c.groups.size(), 1u);
  EXPECT_FALSE(c.groups.at("explicit").members.has_value()) << "unknown, not 0";
  ASSERT_EQ(c.otherErrors.size(), 1u);
  EXPECT_EQ(c.otherErrors[0].first, "discovery");
  // Without a pattern, unsupported listing is no error (nothing was asked
  // for); a failing one is, as "members".
  cfg.groupPattern.clear();
  c = collectKafka(cfg, k);
  EXPECT_TRUE(c.otherErrors.empty());
  k.listSupported = true;
  k.listFails = true;
  c = collectKafka(cfg, k);
  ASSERT_EQ(c.otherErrors.size(), 1u);
  EXPECT_EQ(c.otherErrors[0].first, "members");
  EXPECT_TRUE(c.clusterOk) << "the lag is still measured";
  EXPECT_FALSE(c.groups.at("explicit").members.has_value());
}

TEST(KafkaCycle, TopicFilterAndFailures) {
  ScriptedKafka k;
  auto cfg = cluster();
  cfg.groups = {"g1", "g2"};
  cfg.topics = {"orders", "gone"};
  k.offsets["g1"] = {{{{"orders", 1}, 7}, {{"payments", 0}, 1}}, ""};
  k.offsets["g2"] = {{}, "COORDINATOR_NOT_AVAILABLE"};
  KafkaCycle c = collectKafka(cfg, k);
  ASSERT_TRUE(c.clusterOk);
  EXPECT_EQ(k.lastFallback, (std::vector<TopicPartition>{{"orders", 0}, {"orders", 1}}))
      << "only the filter's topics";
  const auto& g1 = c.groups.at("g1");
  ASSERT_EQ(g1.partitions.size(), 2u) << "payments is filtered out, gone does not exist";
  EXPECT_EQ(g1.partitions[1].committed, 7);
  EXPECT_EQ(c.groupErrors.at("g2"), "COORDINATOR_NOT_AVAILABLE");
  EXPECT_FALSE(c.groups.count("g2"));
  k.metadataFails = true;
  c = collectKafka(cfg, k);
  EXPECT_FALSE(c.clusterOk);
  EXPECT_NE(c.clusterError.find("All broker connections are down"), std::string::npos);
  EXPECT_TRUE(c.groups.empty());
}

TEST(KafkaCycle, AListedTopicTheGroupNeverCommittedOnIsNotItsLag) {
  ScriptedKafka k;
  auto cfg = cluster();
  cfg.topics = {"orders", "payments"};
  k.offsets["explicit"] = {{{{"orders", 0}, 100}, {{"orders", 1}, 101}}, ""};
  KafkaCycle c = collectKafka(cfg, k);
  const auto& g = c.groups.at("explicit");
  ASSERT_EQ(g.partitions.size(), 2u);
  for (const auto& p : g.partitions) EXPECT_EQ(p.topic, "orders");
  // The listed topic is still measured (KEDA's `topic` key counts it).
  ASSERT_EQ(c.topics.size(), 2u);
  EXPECT_EQ(c.topics[1].topic, "payments");
}

TEST(KafkaCycle, AFailedTopicOrPartitionFailsTheGroupsConsumingIt) {
  ScriptedKafka k;
  auto cfg = cluster();
  cfg.groups = {"on-orders", "on-payments"};
  k.offsets["on-orders"] = {{{{"orders", 0}, 50}, {{"payments", 0}, 5}}, ""};
  k.offsets["on-payments"] = {{{{"payments", 0}, 5}}, ""};
  k.topicErrors["orders"] = "Broker: Leader not available";
  KafkaCycle c = collectKafka(cfg, k);
  ASSERT_TRUE(c.clusterOk);
  EXPECT_FALSE(c.groups.count("on-orders")) << "never a smaller sum";
  EXPECT_NE(c.groupErrors.at("on-orders").find("topic orders: Broker: Leader not available"),
            std::string::npos);
  EXPECT_EQ(c.groups.at("on-payments").partitions.size(), 1u);
  k.topicErrors.clear();
  k.partitionErrors[{"payments", 0}] = "Broker: Not leader for partition";
  c = collectKafka(cfg, k);
  EXPECT_TRUE(c.groups.empty());
  EXPECT_NE(c.groupErrors.at("on-payments").find("offsets of partition 0"), std::string::npos);
  EXPECT_NE(c.groupErrors.at("on-orders").find("topic payments"), std::string::npos);
  ASSERT_EQ(c.topics.size(), 1u) << "the failed topic is not reported";
  EXPECT_EQ(c.topics[0].topic, "orders");
}

TEST(KafkaCycle, ATopicThatFailsAndVanishesFromTheAnswerStillFailsItsGroup) {
  // Brokers asked partition by partition only ask for healthy topics: the
  // failed one is not in the group's answer, but it was last cycle.
  ScriptedKafka k;
  k.offsets["explicit"] = {{{{"orders", 0}, 50}}, ""};
  KafkaCollector collector(cluster(), k, [] { return kNow; });
  ASSERT_TRUE(collector.collect().groups.count("explicit"));
  k.topicErrors["orders"] = "Broker: Unknown topic or partition";
  k.offsets["explicit"] = {};
  KafkaCycle c = collector.collect();
  EXPECT_FALSE(c.groups.count("explicit"));
  EXPECT_NE(c.groupErrors["explicit"].find("topic orders"), std::string::npos);
}

TEST(KafkaCycle, LagSecondsIsTheAgeOfTheOldestUnreadMessage) {
  ScriptedKafka k;
  k.topicMap = {{"orders", 4}};
  // Watermarks are low 10, high 100 + partition. Partition 0: lagging at
  // 50; 1: caught up; 2: committed below the low watermark (retention
  // deleted unread messages: the oldest available counts); 3: no commit.
  k.offsets["explicit"] = {{{{"orders", 0}, 50}, {{"orders", 1}, 101}, {{"orders", 2}, 4}}, ""};
  k.messageTimes[{{"orders", 0}, 50}] = kNow - 90500;
  k.messageTimes[{{"orders", 2}, 10}] = kNow + 5000;  // a clock ahead: 0, never negative
  KafkaCycle c = collectKafka(cluster(), k);
  const auto& p = c.groups.at("explicit").partitions;
  ASSERT_EQ(p.size(), 4u);
  ASSERT_TRUE(p[0].lagSeconds);
  EXPECT_DOUBLE_EQ(*p[0].lagSeconds, 90.5);
  EXPECT_EQ(p[1].lagSeconds, std::optional<double>(0.0)) << "no lag: 0, without a read";
  EXPECT_EQ(p[2].lagSeconds, std::optional<double>(0.0));
  EXPECT_FALSE(p[3].lagSeconds) << "no commit: no series";
  EXPECT_EQ(k.lastPositions,
            (std::vector<MessagePosition>{{{"orders", 0}, 50}, {{"orders", 2}, 10}}));
  // A read that fails leaves the partition without a value and says so.
  k.messageTimes.erase({{"orders", 0}, 50});
  KafkaCollector collector(cluster(), k, [] { return kNow; });
  c = collector.collect();
  EXPECT_FALSE(c.groups.at("explicit").partitions[0].lagSeconds);
  ASSERT_FALSE(c.otherErrors.empty());
  EXPECT_EQ(c.otherErrors.back().first, "lagSeconds");
  // Timestamps never change: a group that has not moved costs no read.
  k.messageTimes[{{"orders", 0}, 50}] = kNow - 1000;
  c = collector.collect();
  EXPECT_EQ(k.calls.back(), "timestamps 1") << "only the one not read before";
  c = collector.collect();
  EXPECT_NE(k.calls.back().rfind("timestamps", 0), 0u) << "nothing left to read";
  EXPECT_DOUBLE_EQ(*c.groups.at("explicit").partitions[0].lagSeconds, 1.0);
  // Turned off, nothing is read.
  auto cfg = cluster();
  cfg.lagSeconds = false;
  k.calls.clear();
  c = collectKafka(cfg, k);
  EXPECT_EQ(k.calls.size(), 4u);
  EXPECT_FALSE(c.groups.at("explicit").partitions[0].lagSeconds);
}

namespace {
class ScriptedSqs : public SqsApi {
 public:
  std::atomic<int>* attributeCalls;
  explicit ScriptedSqs(std::atomic<int>* n) : attributeCalls(n) {}
  std::string getQueueUrl(const std::string& name) override {
    if (name == "missing")
      throw SqsError("QueueDoesNotExist", 400, "The specified queue does not exist.");
    return "https://sqs.eu-west-1.amazonaws.com/123/" + name;
  }
  std::vector<std::string> listQueues(const std::string& prefix) override {
    std::vector<std::string> out;
    for (int i = 0; i < 3; ++i)
      out.push_back("https://sqs.eu-west-1.amazonaws.com/123/" + prefix + std::to_string(i));
    return out;
  }
  QueueDepth getQueueAttributes(const std::string& url) override {
    ++*attributeCalls;
    if (url.find("batch-1") != std::string::npos) throw SqsError("InternalFailure", 500, "boom");
    return {static_cast<int64_t>(url.size()), 1, 2};
  }
};
}  // namespace

TEST(SqsCycle, NamesUrlsPrefixesAndPerQueueFailures) {
  SqsConfig cfg;
  cfg.queues = {"orders", "https://sqs.eu-west-1.amazonaws.com/123/jobs", "missing"};
  cfg.queueNamePrefixes = {"batch-"};
  cfg.concurrency = 4;
  std::atomic<int> calls{0};
  SqsCollector collector(cfg, "eu-west-1", [&] { return std::make_unique<ScriptedSqs>(&calls); });
  SqsCycle c = collector.collect();
  std::set<std::string> names;
  for (const auto& q : c.queues) names.insert(q.name);
  EXPECT_EQ(names, (std::set<std::string>{"orders", "jobs", "batch-0", "batch-2"}));
  EXPECT_EQ(c.queueErrors.size(), 2u);
  EXPECT_NE(c.queueErrors.at("missing").find("QueueDoesNotExist"), std::string::npos);
  EXPECT_NE(c.queueErrors.at("batch-1").find("InternalFailure"), std::string::npos);
  EXPECT_EQ(calls.load(), 5);
  for (const auto& q : c.queues) EXPECT_EQ(q.region, "eu-west-1");
  EXPECT_EQ(queueNameFromUrl("https://sqs.us-east-1.amazonaws.com/123/orders.fifo/"),
            "orders.fifo");
}
