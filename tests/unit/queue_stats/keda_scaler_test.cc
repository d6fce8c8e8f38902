// KEDA's Kafka and SQS scaler rules over queue-stats' snapshot: metadata
// keys and their errors, lag per partition with and without commits, the
// partition cap (with Go's integer division), activation, staleness; and
// the gRPC feed's filtering.
#include "queue_stats/keda_scaler.h"

#include <gtest/gtest.h>

#include "queue_stats.pb.h"
#include "queue_stats/feed_proto.h"

using namespace queue_stats;

namespace {

constexpr int64_t kNow = 1700000000000;
const std::map<std::string, std::string> kClusters{{"main", "kafka-0:9092,kafka-1:9092"}};

// Group "orders-consumer" on "orders": p0 lag 60, p1 lag 0, p2 and p3
// without a commit (p2 holds 5 messages, p3 none); on "audit": p0 lag 7.
// Topic "payments" (2 partitions, 4 and 6 messages) is measured, and the
// group never committed on it.
StatsSnapshot snapshot(bool stale = false) {
  const int64_t collectedAt = kNow - 1000;
  StatsSnapshot s;
  s.version = 3;
  s.clusterServers = kClusters;
  StatsSnapshot::Group g;
  g.cluster = "main";
  g.collectedAtMs = collectedAt;
  g.stale = stale;
  g.stats = {"orders-consumer",
             2,
             {{"audit", 0, 3, {0, 10}},
              {"orders", 0, 40, {0, 100}},
              {"orders", 1, 30, {0, 30}},
              {"orders", 2, -1, {0, 5}},
              {"orders", 3, -1, {0, 0}}}};
  s.groups[{"main", "orders-consumer"}] = g;
  StatsSnapshot::Topic t;
  t.cluster = "main";
  t.stats = {"payments", {{0, 4}, {1, 6}}};
  t.collectedAtMs = collectedAt;
  t.stale = stale;
  s.topics[{"main", "payments"}] = t;
  StatsSnapshot::Queue q;
  q.stats = {"us-east-1", "orders", "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
             3,           2,        1};
  q.collectedAtMs = collectedAt;
  q.stale = stale;
  s.queues[q.stats.url] = q;
  return s;
}

ScalerResult kafka(std::map<std::string, std::string> extra,
                   const StatsSnapshot& snap = snapshot()) {
  std::map<std::string, std::string> m{{"consumerGroup", "orders-consumer"}, {"topic", "orders"}};
  for (auto& [k, v] : extra) m[k] = v;
  return evaluateScaler(parseScalerMetadata(m), snap);
}

ScalerResult sqs(std::map<std::string, std::string> extra, const StatsSnapshot& snap = snapshot()) {
  std::map<std::string, std::string> m{
      {"queueURL", "https://sqs.us-east-1.amazonaws.com/123456789012/orders"}};
  for (auto& [k, v] : extra) m[k] = v;
  return evaluateScaler(parseScalerMetadata(m), snap);
}

ScalerError::Code errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const ScalerError& e) {
    return e.code();
  }
  ADD_FAILURE() << "no ScalerError";
  return ScalerError::Code::Unavailable;
}

}  // namespace

TEST(KedaKafka, LagPerPartitionAndThePartitionCap) {
  // 60 + 0 + 1 + 1 (latest policy: a partition without a commit counts 1).
  auto r = kafka({{"lagThreshold", "20"}});
  EXPECT_EQ(r.value, 62);
  EXPECT_EQ(r.target, 20);
  EXPECT_TRUE(r.active);
  EXPECT_EQ(r.metricName, "kafka-orders");
  // 62/10 = 6 replicas > 4 partitions: capped at 4 x 10.
  EXPECT_EQ(kafka({{"lagThreshold", "10"}}).value, 40);
  // Go's integer division: 45/10 = 4, not above 4 partitions, so no cap.
  auto snap = snapshot();
  auto& p1 = snap.groups[{"main", "orders-consumer"}].stats.partitions[2];
  ASSERT_EQ(p1.partition, 1);
  p1.committed = 15;  // lag 15: 77 in all
  EXPECT_EQ(kafka({{"lagThreshold", "19"}}, snap).value, 77)
      << "77/19 = 4 (not 4.05): not above 4, so not capped to 76";
  EXPECT_EQ(kafka({{"lagThreshold", "15"}}, snap).value, 60) << "77/15 = 5 > 4: capped to 4 x 15";
  EXPECT_EQ(kafka({{"lagThreshold", "10"}, {"allowIdleConsumers", "true"}}).value, 62);
  // Three partitions have lag (p0, p2, p3 count 1 each).
  EXPECT_EQ(kafka({{"lagThreshold", "10"}, {"limitToPartitionsWithLag", "true"}}).value, 30);
  EXPECT_EQ(kafka({{"lagThreshold", "100"}, {"limitToPartitionsWithLag", "true"}}).value, 62);
}

TEST(KedaKafka, PartitionsWithoutACommit) {
  EXPECT_EQ(kafka({{"lagThreshold", "100"}, {"offsetResetPolicy", "earliest"}}).value, 65)
      << "60 + 0 + 5 + 0";
  EXPECT_EQ(kafka({{"lagThreshold", "100"}, {"scaleToZeroOnInvalidOffset", "true"}}).value, 60);
  EXPECT_EQ(kafka({{"lagThreshold", "100"},
                   {"scaleToZeroOnInvalidOffset", "true"},
                   {"offsetResetPolicy", "earliest"}})
                .value,
            60);
}

TEST(KedaKafka, LagIsLogEndMinusCommitted) {
  // Retention deleted offsets below 30; KEDA still counts from the commit.
  auto snap = snapshot();
  snap.groups[{"main", "orders-consumer"}].stats.partitions[2] = {"orders", 1, 10, {30, 50}};
  EXPECT_EQ(kafka({{"lagThreshold", "1000"}}, snap).value, 60 + 40 + 1 + 1);
}

TEST(KedaKafka, ActivationAndAllTopics) {
  EXPECT_FALSE(kafka({{"activationLagThreshold", "62"}}).active)
      << "active only above the threshold";
  EXPECT_TRUE(kafka({{"activationLagThreshold", "61"}}).active);
  // Activation looks at the lag before the cap.
  EXPECT_TRUE(kafka({{"lagThreshold", "1"}, {"activationLagThreshold", "50"}}).active);
  std::map<std::string, std::string> all{{"consumerGroup", "orders-consumer"},
                                         {"lagThreshold", "1000"}};
  auto r = evaluateScaler(parseScalerMetadata(all), snapshot());
  EXPECT_EQ(r.value, 69) << "every topic of the group";
  EXPECT_EQ(r.metricName, "kafka-orders-consumer-topics");
}

TEST(KedaKafka, ClusterResolution) {
  EXPECT_EQ(kafka({{"bootstrapServers", "kafka-0:9092,kafka-1:9092"}}).value, 40);
  EXPECT_EQ(kafka({{"cluster", "main"}}).value, 40);
  EXPECT_EQ(errorOf([] {
              kafka({{"bootstrapServers", "elsewhere:9092"}});
            }),
            ScalerError::Code::InvalidArgument);
  auto two = kClusters;
  two["other"] = "other:9092";
  auto q = parseScalerMetadata({{"consumerGroup", "orders-consumer"}});
  auto snap = snapshot();
  snap.clusterServers = two;
  EXPECT_EQ(errorOf([&] { evaluateScaler(q, snap); }), ScalerError::Code::InvalidArgument)
      << "several clusters: which one must be said";
}

TEST(KedaKafka, MetadataErrorsNameTheKey) {
  auto message = [](std::map<std::string, std::string> m) -> std::string {
    try {
      parseScalerMetadata(m);
    } catch (const ScalerError& e) {
      EXPECT_EQ(e.code(), ScalerError::Code::InvalidArgument);
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(message({{"consumerGroup", "g"}, {"lagThreshold", "1.5"}}).find("lagThreshold"),
            std::string::npos);
  EXPECT_NE(message({{"consumerGroup", "g"}, {"lagThreshold", "0"}}).find("lagThreshold"),
            std::string::npos);
  EXPECT_NE(message({{"consumerGroup", "g"}, {"activationLagThreshold", "-1"}})
                .find("activationLagThreshold"),
            std::string::npos);
  EXPECT_NE(
      message({{"consumerGroup", "g"}, {"allowIdleConsumers", "yes"}}).find("allowIdleConsumers"),
      std::string::npos);
  EXPECT_NE(
      message({{"consumerGroup", "g"}, {"offsetResetPolicy", "none"}}).find("offsetResetPolicy"),
      std::string::npos);
  EXPECT_NE(message({{"consumerGroup", "g"},
                     {"allowIdleConsumers", "true"},
                     {"limitToPartitionsWithLag", "true"}})
                .find("cannot both"),
            std::string::npos);
  EXPECT_NE(message({{"source", "kafka"}}).find("consumerGroup"), std::string::npos);
  EXPECT_NE(message({{"topic", "t"}}).find("source"), std::string::npos);
  EXPECT_NE(message({{"queueURL", "u"}, {"queueLength", "x"}}).find("queueLength"),
            std::string::npos);
  EXPECT_NE(
      message({{"consumerGroup", "g"}, {"excludePersistentLag", "true"}}).find("not supported"),
      std::string::npos);
}

TEST(KedaKafka, MissingAndStaleDataAreErrorsNotZero) {
  EXPECT_EQ(errorOf([] { kafka({{"consumerGroup", "nobody"}}); }), ScalerError::Code::NotFound);
  EXPECT_EQ(errorOf([] { kafka({{"topic", "unknown"}}); }), ScalerError::Code::NotFound);
  EXPECT_EQ(errorOf([] { kafka({}, snapshot(true)); }), ScalerError::Code::Unavailable)
      << "stale: UNAVAILABLE, never the old value";
  EXPECT_EQ(errorOf([] {
              kafka({{"topic", "payments"}}, snapshot(true));
            }),
            ScalerError::Code::Unavailable);
}

TEST(KedaKafka, ATopicTheGroupNeverCommittedOnCountsAsKedasDoes) {
  // Every partition of the named topic counts, without a commit by
  // offsetResetPolicy: latest 1 each, earliest the log end.
  EXPECT_EQ(kafka({{"topic", "payments"}, {"lagThreshold", "100"}}).value, 2);
  EXPECT_EQ(
      kafka({{"topic", "payments"}, {"offsetResetPolicy", "earliest"}, {"lagThreshold", "100"}})
          .value,
      10);
  EXPECT_EQ(kafka({{"topic", "payments"}, {"scaleToZeroOnInvalidOffset", "true"}}).value, 0);
  // Without `topic`, only the topics the group committed on.
  auto r = evaluateScaler(
      parseScalerMetadata({{"consumerGroup", "orders-consumer"}, {"lagThreshold", "1000"}}),
      snapshot());
  EXPECT_EQ(r.value, 69) << "orders and audit, not payments";
}

TEST(KedaKafka, LagSecondsThreshold) {
  auto snap = snapshot();
  auto& parts = snap.groups.begin()->second.stats.partitions;
  parts[0].lagSeconds = 2.0;   // audit
  parts[1].lagSeconds = 42.5;  // orders p0
  parts[2].lagSeconds = 0.0;   // orders p1
  auto r = kafka({{"lagSecondsThreshold", "30"}}, snap);
  EXPECT_DOUBLE_EQ(r.value, 42.5) << "the oldest unread message over the topic";
  EXPECT_DOUBLE_EQ(r.target, 30);
  EXPECT_EQ(r.metricName, "kafka-orders-lag-seconds");
  EXPECT_TRUE(r.active);
  EXPECT_FALSE(
      kafka({{"lagSecondsThreshold", "30"}, {"activationLagSecondsThreshold", "42.5"}}, snap)
          .active);
  EXPECT_DOUBLE_EQ(kafka({{"lagSecondsThreshold", "30"}, {"topic", "audit"}}, snap).value, 2.0);
  EXPECT_EQ(scalerTarget(parseScalerMetadata(
                {{"consumerGroup", "g"}, {"lagSecondsThreshold", "7.5"}, {"lagThreshold", "3"}})),
            7.5)
      << "replaces lagThreshold";
  // A lagging partition whose oldest message could not be read: not a
  // younger maximum, an error.
  parts[1].lagSeconds.reset();
  EXPECT_EQ(errorOf([&] {
              kafka({{"lagSecondsThreshold", "30"}}, snap);
            }),
            ScalerError::Code::Unavailable);
  EXPECT_EQ(errorOf([] {
              kafka({{"lagSecondsThreshold", "-1"}});
            }),
            ScalerError::Code::InvalidArgument);
  EXPECT_EQ(errorOf([] {
              kafka({{"lagSecondsThreshold", "soon"}});
            }),
            ScalerError::Code::InvalidArgument);
  EXPECT_EQ(errorOf([] {
              kafka({{"activationLagSecondsThreshold", "3"}});
            }),
            ScalerError::Code::InvalidArgument);
}

TEST(KedaSqs, MessagesCountedAsKedaDoes) {
  auto r = sqs({});
  EXPECT_EQ(r.value, 5) << "visible + in flight (scaleOnInFlight defaults to true)";
  EXPECT_EQ(r.target, 5) << "queueLength defaults to 5";
  EXPECT_EQ(r.metricName, "aws-sqs-orders");
  EXPECT_EQ(sqs({{"scaleOnInFlight", "false"}}).value, 3);
  EXPECT_EQ(sqs({{"scaleOnDelayed", "true"}}).value, 6);
  EXPECT_EQ(sqs({{"queueLength", "2"}}).target, 2);
  EXPECT_TRUE(sqs({{"activationQueueLength", "4"}}).active);
  EXPECT_FALSE(sqs({{"activationQueueLength", "5"}}).active);
}

TEST(KedaSqs, QueueByUrlOrUnambiguousName) {
  auto byName = evaluateScaler(parseScalerMetadata({{"queueName", "orders"}}), snapshot());
  EXPECT_EQ(byName.value, 5);
  // A URL for another endpoint still finds the one queue of that name.
  auto other = evaluateScaler(
      parseScalerMetadata(
          {{"queueURL", "https://vpce-1.sqs.us-east-1.vpce.amazonaws.com/123456789012/orders"}}),
      snapshot());
  EXPECT_EQ(other.value, 5);
  auto snap = snapshot();
  StatsSnapshot::Queue twin;
  twin.stats = {"eu-west-1", "orders", "https://sqs.eu-west-1.amazonaws.com/210987654321/orders",
                100,         0,        0};
  twin.collectedAtMs = kNow;
  twin.staleAtMs = kNow + 1000;
  snap.queues[twin.stats.url] = twin;
  EXPECT_EQ(errorOf([&] {
              evaluateScaler(parseScalerMetadata({{"queueName", "orders"}}), snap);
            }),
            ScalerError::Code::InvalidArgument);
  EXPECT_EQ(sqs({}, snap).value, 5) << "the exact URL picks one";
  EXPECT_EQ(errorOf([] {
              sqs({{"queueURL", "https://sqs.us-east-1.amazonaws.com/1/missing"}});
            }),
            ScalerError::Code::NotFound);
  EXPECT_EQ(errorOf([] { sqs({}, snapshot(true)); }), ScalerError::Code::Unavailable);
}

TEST(Feed, SnapshotToProtoWithFilters) {
  queuestats::v1::Snapshot out;
  auto withSeconds = snapshot();
  withSeconds.groups.begin()->second.stats.partitions[1].lagSeconds = 12.5;  // orders p0
  withSeconds.groups.begin()->second.stats.partitions[2].lagSeconds = 0.0;   // orders p1
  toProto(withSeconds, {}, kNow, out);
  EXPECT_EQ(out.version(), 3u);
  ASSERT_EQ(out.kafka_size(), 2);  // audit, orders
  const auto& orders = out.kafka(1);
  EXPECT_EQ(orders.topic(), "orders");
  EXPECT_EQ(orders.cluster(), "main");
  EXPECT_EQ(orders.group(), "orders-consumer");
  EXPECT_EQ(orders.lag_sum(), 60) << "over partitions with a commit, as kafka_exporter's _sum";
  EXPECT_EQ(orders.current_offset_sum(), 70);
  EXPECT_EQ(orders.partition_count(), 4);
  EXPECT_EQ(orders.partitions_without_commit(), 2);
  EXPECT_EQ(orders.members(), 2);
  EXPECT_EQ(orders.partitions(2).lag(), -1);
  EXPECT_EQ(orders.partitions(2).committed(), -1);
  EXPECT_EQ(orders.partitions(0).high(), 100);
  EXPECT_EQ(orders.age_ms(), 1000) << "as queue-stats measured it: no clocks compared";
  EXPECT_FALSE(orders.stale());
  ASSERT_TRUE(orders.has_lag_seconds_max());
  EXPECT_DOUBLE_EQ(orders.lag_seconds_max(), 12.5);
  EXPECT_TRUE(orders.partitions(0).has_lag_seconds());
  EXPECT_FALSE(orders.partitions(2).has_lag_seconds()) << "no commit";
  EXPECT_FALSE(out.kafka(0).has_lag_seconds_max()) << "audit's partition was not read";
  ASSERT_EQ(out.sqs_size(), 1);
  EXPECT_EQ(out.sqs(0).visible(), 3);
  EXPECT_EQ(out.sqs(0).not_visible(), 2);
  EXPECT_EQ(out.sqs(0).delayed(), 1);
  EXPECT_EQ(out.sqs(0).region(), "us-east-1");
  EXPECT_EQ(out.sqs(0).age_ms(), 1000);
  EXPECT_EQ(out.generated_at_ms(), kNow - 1000);

  queuestats::v1::Filter f;
  f.set_topic("audit");
  out.Clear();
  toProto(snapshot(), f, kNow, out);
  ASSERT_EQ(out.kafka_size(), 1);
  EXPECT_EQ(out.kafka(0).lag_sum(), 7);
  EXPECT_EQ(out.sqs_size(), 0) << "a Kafka filter leaves out SQS";
  f.Clear();
  f.set_source("sqs");
  f.set_queue("orders");
  out.Clear();
  toProto(snapshot(), f, kNow, out);
  EXPECT_EQ(out.kafka_size(), 0);
  EXPECT_EQ(out.sqs_size(), 1);
  EXPECT_FALSE(out.sqs(0).stale());
  out.Clear();
  toProto(snapshot(true), f, kNow, out);
  ASSERT_EQ(out.sqs_size(), 1);
  EXPECT_TRUE(out.sqs(0).stale()) << "kept, marked: the receiver answers 503";
  f.set_queue("other");
  out.Clear();
  toProto(snapshot(), f, kNow, out);
  EXPECT_EQ(out.sqs_size(), 0);
}
