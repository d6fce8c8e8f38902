// queue-stats against real peers: librdkafka's mock cluster (the Kafka
// protocol) and the fauxqs SQS emulator behind a proxy that verifies every
// SigV4 signature with the official AWS signer.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <thread>

#include "queue_peers.h"
#include "queue_stats_process.h"
#include "test_support.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

using QueueStats = QueueStatsProcess;

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}
bool mentions(const std::string& text, const std::string& s) {
  return text.find(s) != std::string::npos;
}

std::optional<double> value(const std::string& text, const std::string& series) {
  return seriesValue(text, series);
}

}  // namespace

class QueueStatsKafka : public ::testing::Test {};

TEST_F(QueueStatsKafka, ExactLagFromTheMockCluster) {
  TempDir dir;
  KafkaMock kafka(dir);
  kafka.cmd("topic orders 3");
  kafka.cmd("produce orders 0 100");
  kafka.cmd("produce orders 1 50");
  kafka.cmd("commit orders-consumer orders 0 40");
  kafka.cmd("commit orders-consumer orders 1 50");
  // Retention: the mock keeps 5 MB per partition, so 7 messages of 900 KB
  // leave offsets 2..6; the archiver committed 1, one message it never read.
  kafka.cmd("topic logs 1");
  kafka.cmd("produce logs 0 7 900000");
  kafka.cmd("watermarks logs 0");
  ASSERT_NE(kafka.lastOutput().find("wm 2 7"), std::string::npos) << kafka.lastOutput();
  kafka.cmd("commit archiver logs 0 1");
  writeFile(dir.file("qs.yaml"),
            "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" + kafka.bootstrap() +
                "\"\n    groups: [orders-consumer, archiver]\n    groupPattern: '^billing-'\n"
                "    timeout: 3s\n");
  QueueStats qs(dir, dir.file("qs.yaml"));
  std::string m =
      qs.waitFor([](const std::string& t) { return mentions(t, "kafka_consumergroup_lag{"); });
  const std::string g = "cluster=\"main\",consumergroup=\"orders-consumer\"";
  EXPECT_TRUE(has(m, "kafka_consumergroup_lag{" + g + ",partition=\"0\",topic=\"orders\"} 60"))
      << m;
  EXPECT_TRUE(has(m, "kafka_consumergroup_lag{" + g + ",partition=\"1\",topic=\"orders\"} 0")) << m;
  EXPECT_TRUE(has(m, "kafka_consumergroup_lag{" + g + ",partition=\"2\",topic=\"orders\"} -1"))
      << m;
  EXPECT_TRUE(
      has(m, "kafka_consumergroup_current_offset{" + g + ",partition=\"2\",topic=\"orders\"} -1"))
      << m;
  EXPECT_TRUE(has(m, "kafka_consumergroup_lag_sum{" + g + ",topic=\"orders\"} 60")) << m;
  EXPECT_TRUE(has(m, "kafka_consumergroup_current_offset_sum{" + g + ",topic=\"orders\"} 90")) << m;
  EXPECT_TRUE(has(m, "kafka_topic_partitions{cluster=\"main\",topic=\"orders\"} 3")) << m;
  EXPECT_TRUE(has(m,
                  "kafka_topic_partition_current_offset{cluster=\"main\",partition=\"0\",topic="
                  "\"orders\"} 100"))
      << m;
  EXPECT_TRUE(has(
      m, "kafka_topic_partition_oldest_offset{cluster=\"main\",partition=\"0\",topic=\"logs\"} 2"))
      << m;
  const std::string a =
      "cluster=\"main\",consumergroup=\"archiver\",partition=\"0\",topic=\"logs\"";
  EXPECT_TRUE(has(m, "kafka_consumergroup_lag{" + a + "} 5")) << m;
  EXPECT_TRUE(has(m, "kafka_consumergroup_expired_messages{" + a + "} 1")) << m;
  // The mock has no ListGroups/DescribeGroups: no member
  // series (never a 0), and discovery is reported as failing.
  EXPECT_FALSE(mentions(m, "kafka_consumergroup_members{")) << m;
  EXPECT_GE(
      value(m, "queue_stats_collection_errors_total{source=\"kafka\",target=\"main/discovery\"}")
          .value_or(0),
      1)
      << m;
  EXPECT_TRUE(value(m,
                    "queue_stats_last_success_timestamp_seconds{source=\"kafka\",target=\"main/"
                    "orders-consumer\"}")
                  .has_value());
  EXPECT_EQ(qs.status("/readyz"), 200);
  EXPECT_EQ(qs.status("/healthz"), 200);

  // New commits and messages show up in the next cycle.
  kafka.cmd("produce orders 2 10");
  kafka.cmd("commit orders-consumer orders 2 4");
  m = qs.waitFor([&](const std::string& t) {
    return has(t, "kafka_consumergroup_lag_sum{" + g + ",topic=\"orders\"} 66");
  });
  EXPECT_TRUE(has(m, "kafka_consumergroup_lag{" + g + ",partition=\"2\",topic=\"orders\"} 6")) << m;
}

TEST_F(QueueStatsKafka, BrokerErrorsAndOutagesWithdrawSeries) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  kafka.cmd("topic orders 2");
  kafka.cmd("produce orders 0 20");
  kafka.cmd("commit g1 orders 0 5");
  writeFile(dir.file("qs.yaml"),
            "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" + kafka.bootstrap() +
                "\"\n    groups: [g1]\n    topics: [orders]\n    timeout: 2s\n");
  QueueStats qs(dir, dir.file("qs.yaml"));
  const std::string lag =
      "kafka_consumergroup_lag{cluster=\"main\",consumergroup=\"g1\",partition=\"0\",topic="
      "\"orders\"}";
  ASSERT_EQ(value(qs.waitFor([&](const std::string& t) { return mentions(t, lag); }), lag), 15);
  // OffsetFetch (API key 9) answered GROUP_AUTHORIZATION_FAILED (30): the
  // group's series disappear for that cycle, the error is counted.
  kafka.cmd("error 9 3 30");
  std::string m = qs.waitFor([&](const std::string& t) { return !mentions(t, lag); });
  EXPECT_FALSE(mentions(m, lag)) << m;
  EXPECT_GE(value(m, "queue_stats_collection_errors_total{source=\"kafka\",target=\"main/g1\"}")
                .value_or(0),
            1)
      << m;
  EXPECT_TRUE(mentions(m, "kafka_topic_partitions{cluster=\"main\",topic=\"orders\"} 2"))
      << "the cluster itself is fine (and the topic is named by the filter)";
  EXPECT_EQ(value(qs.waitFor([&](const std::string& t) { return mentions(t, lag); }), lag), 15)
      << "recovers";
  // The broker goes down: everything for the cluster goes, nothing reads 0.
  kafka.cmd("down 1");
  // (Withdrawn when the values go stale, counted when the request's
  // timeout ends the cycle: either may come first.)
  m = qs.waitFor(
      [&](const std::string& t) {
        return !mentions(t, "kafka_topic_partitions{") &&
               value(t, "queue_stats_collection_errors_total{source=\"kafka\",target=\"main\"}")
                       .value_or(0) >= 1;
      },
      30s);
  EXPECT_FALSE(mentions(m, "kafka_consumergroup_lag{")) << m;
  EXPECT_FALSE(mentions(m, "kafka_topic_partitions{")) << m;
  EXPECT_GE(
      value(m, "queue_stats_collection_errors_total{source=\"kafka\",target=\"main\"}").value_or(0),
      1)
      << m << qs.process().log();
  kafka.cmd("up 1");
  EXPECT_EQ(value(qs.waitFor([&](const std::string& t) { return mentions(t, lag); }, 40s), lag),
            15);
}

TEST_F(QueueStatsKafka, ConfigErrorsAndReload) {
  TempDir dir;
  writeFile(dir.file("bad.yaml"),
            "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: x:1\n    grups: [a]\n");
  ChildProcess bad(
      {binary("queue-stats"), "--config", dir.file("bad.yaml"), "--listen", "127.0.0.1:0"},
      dir.file("bad.log"));
  EXPECT_EQ(bad.waitExit(10s), 1);
  // (the logger quotes the problem, so the key's quotes are escaped)
  EXPECT_NE(bad.log().find(dir.file("bad.yaml") + ":5:5: kafka[0]: unknown key \\\"grups\\\""),
            std::string::npos)
      << bad.log();

  KafkaMock kafka(dir, 1);
  kafka.cmd("topic t 1");
  kafka.cmd("produce t 0 9");
  kafka.cmd("commit a t 0 1");
  kafka.cmd("commit b t 0 2");
  auto config = [&](const std::string& group) {
    return "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" + kafka.bootstrap() +
           "\"\n    groups: [" + group + "]\n";
  };
  writeFile(dir.file("qs.yaml"), config("a"));
  QueueStats qs(dir, dir.file("qs.yaml"));
  const std::string la =
      "kafka_consumergroup_lag{cluster=\"main\",consumergroup=\"a\",partition=\"0\",topic=\"t\"}";
  const std::string lb =
      "kafka_consumergroup_lag{cluster=\"main\",consumergroup=\"b\",partition=\"0\",topic=\"t\"}";
  ASSERT_EQ(value(qs.waitFor([&](const std::string& t) { return mentions(t, la); }), la), 8);
  // A broken config is refused with its position; the old one keeps serving.
  writeFile(dir.file("qs.yaml"), "interval: never\n");
  qs.process().signal(SIGHUP);
  ASSERT_TRUE(qs.process().waitForLog("config reload rejected", 10s)) << qs.process().log();
  EXPECT_NE(qs.process().log().find(":1:11: interval: expected a duration"), std::string::npos);
  EXPECT_EQ(value(qs.metrics(), la), 8);
  writeFile(dir.file("qs.yaml"), config("b"));
  qs.process().signal(SIGHUP);
  std::string m =
      qs.waitFor([&](const std::string& t) { return mentions(t, lb) && !mentions(t, la); });
  EXPECT_EQ(value(m, lb), 7);
  EXPECT_FALSE(mentions(m, la)) << "a group dropped from the config is dropped from the metrics";
}

namespace {
std::string clusterConfig(const std::string& name, const std::string& bootstrap,
                          const std::string& extra = "") {
  return "  - name: " + name + "\n    bootstrapServers: \"" + bootstrap + "\"\n    groups: [g1]\n" +
         extra;
}
}  // namespace

TEST_F(QueueStatsKafka, ADeadBrokersLagIsWithdrawnWithinTwoIntervalsAndDelaysNoOtherCluster) {
  TempDir dir, otherDir;  // each mock cluster logs to its own directory
  KafkaMock dying(dir, 1), healthy(otherDir, 1);
  for (KafkaMock* k : {&dying, &healthy}) {
    k->cmd("topic orders 1");
    k->cmd("produce orders 0 10");
    k->cmd("commit g1 orders 0 0");
  }
  writeFile(dir.file("qs.yaml"), "interval: 1s\nkafka:\n" +
                                     clusterConfig("dying", dying.bootstrap()) +
                                     clusterConfig("healthy", healthy.bootstrap()));
  QueueStats qs(dir, dir.file("qs.yaml"));
  const std::string sum =
      "kafka_consumergroup_lag_sum{cluster=\"dying\",consumergroup=\"g1\",topic=\"orders\"}";
  const std::string other =
      "kafka_consumergroup_lag_sum{cluster=\"healthy\",consumergroup=\"g1\",topic=\"orders\"}";
  const std::string errors =
      "queue_stats_collection_errors_total{source=\"kafka\",target=\"dying\"}";
  std::string m =
      qs.waitFor([&](const std::string& t) { return mentions(t, sum) && mentions(t, other); });
  ASSERT_EQ(value(m, sum), 10);
  auto before = value(m, errors).value_or(0);
  auto killed = std::chrono::steady_clock::now();
  dying.cmd("down 1");
  m = qs.waitFor([&](const std::string& t) {
    return !mentions(t, sum) && value(t, errors).value_or(0) > before;
  });
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_FALSE(mentions(m, sum)) << m;
  EXPECT_LE(took, 3.0 + 1.0) << "2 intervals + 1 s (and the scrape's own polling)";
  // The healthy cluster keeps its own schedule: new lag shows within about
  // an interval although the other cluster's requests are timing out.
  auto produced = std::chrono::steady_clock::now();
  healthy.cmd("produce orders 0 5");
  m = qs.waitFor([&](const std::string& t) { return value(t, other) == 15; });
  EXPECT_EQ(value(m, other), 15);
  EXPECT_LE(std::chrono::duration<double>(std::chrono::steady_clock::now() - produced).count(),
            2.5);
  // It comes back on its own.
  dying.cmd("up 1");
  EXPECT_EQ(value(qs.waitFor([&](const std::string& t) { return mentions(t, sum); }, 40s), sum),
            10);
}

TEST_F(QueueStatsKafka, SigtermEndsItWithinASecondWhileARequestHangs) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  kafka.cmd("topic orders 1");
  kafka.cmd("commit g1 orders 0 0");
  // A long per-request timeout: the cycle after the broker dies waits in
  // librdkafka for up to 10 s.
  writeFile(dir.file("qs.yaml"), "interval: 1s\nkafka:\n" + clusterConfig("main", kafka.bootstrap(),
                                                                          "    timeout: 10s\n"));
  QueueStats qs(dir, dir.file("qs.yaml"));
  qs.waitFor([](const std::string& t) { return mentions(t, "kafka_consumergroup_lag_sum{"); });
  kafka.cmd("down 1");
  std::this_thread::sleep_for(1500ms);  // a cycle is now inside a request
  auto sent = std::chrono::steady_clock::now();
  qs.process().signal(SIGTERM);
  EXPECT_EQ(qs.process().waitExit(10s), 0) << qs.process().log();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  EXPECT_LE(took, 1.5) << "the target is 1 s (bench/queue-bench measures it)";
  EXPECT_TRUE(mentions(qs.process().log(), "stopped")) << qs.process().log();
}

TEST_F(QueueStatsKafka, AChangedConfigFileAppliesWithoutASignal) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  kafka.cmd("topic t 1");
  kafka.cmd("produce t 0 9");
  kafka.cmd("commit a t 0 1");
  kafka.cmd("commit b t 0 2");
  auto config = [&](const std::string& groups) {
    return "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" + kafka.bootstrap() +
           "\"\n    groups: [" + groups + "]\n";
  };
  writeFile(dir.file("qs.yaml"), config("a"));
  QueueStats qs(dir, dir.file("qs.yaml"));
  const std::string lb =
      "kafka_consumergroup_lag{cluster=\"main\",consumergroup=\"b\",partition=\"0\",topic=\"t\"}";
  qs.waitFor([](const std::string& t) { return mentions(t, "consumergroup=\"a\""); });
  // A broken edit is refused with its position; the old config keeps serving.
  writeFile(dir.file("qs.yaml"), "interval: 1s\nkafka: {}\n");
  ASSERT_TRUE(qs.process().waitForLog("config reload rejected", 10s)) << qs.process().log();
  EXPECT_TRUE(mentions(qs.process().log(), dir.file("qs.yaml") + ":2:8: kafka: expected a list"))
      << qs.process().log();
  EXPECT_TRUE(mentions(qs.metrics(), "consumergroup=\"a\""));
  // As a ConfigMap update does: the new file replaces the old one.
  auto edited = std::chrono::steady_clock::now();
  writeFile(dir.file("qs.yaml.new"), config("a, b"));
  ASSERT_EQ(std::rename(dir.file("qs.yaml.new").c_str(), dir.file("qs.yaml").c_str()), 0);
  std::string m = qs.waitFor([&](const std::string& t) { return mentions(t, lb); });
  EXPECT_EQ(value(m, lb), 7);
  EXPECT_LE(std::chrono::duration<double>(std::chrono::steady_clock::now() - edited).count(), 4.5)
      << "checked every 2 s, applied within an interval";
  EXPECT_TRUE(mentions(qs.process().log(), "file changed")) << qs.process().log();
}

TEST_F(QueueStatsKafka, LagInSecondsFromTheOldestUnreadMessagesTimestamp) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  // Partition 0: 20 messages, 1 s apart, the first 300 s ago, 5 per
  // message set (the commit lands inside a set); committed at 8: the oldest
  // unread message is 300 - 8 = 292 s old. Partition 1: caught up.
  // Partition 2: messages stamped in the future (a producer's clock ahead).
  // Partition 3: no commit.
  const int64_t first = unixMillis() - 300000;
  kafka.cmd("topic orders 4");
  kafka.cmd("produce_ts orders 0 20 " + std::to_string(first) + " 1000 5");
  kafka.cmd("produce_ts orders 1 3 " + std::to_string(first) + " 1000");
  kafka.cmd("produce_ts orders 2 3 " + std::to_string(unixMillis() + 600000) + " 1000");
  kafka.cmd("produce_ts orders 3 3 " + std::to_string(first) + " 1000");
  kafka.cmd("commit g1 orders 0 8");
  kafka.cmd("commit g1 orders 1 3");
  kafka.cmd("commit g1 orders 2 0");
  writeFile(dir.file("qs.yaml"),
            "interval: 1s\nkafka:\n" + clusterConfig("main", kafka.bootstrap()));
  QueueStats qs(dir, dir.file("qs.yaml"));
  const std::string g = "cluster=\"main\",consumergroup=\"g1\"";
  const std::string max = "kafka_consumergroup_lag_seconds_max{" + g + ",topic=\"orders\"}";
  std::string m = qs.waitFor([&](const std::string& t) { return mentions(t, max); });
  double expected = (unixMillis() - (first + 8000)) / 1000.0;
  ASSERT_TRUE(value(m, max)) << m;
  // Measured at the last collection (at most an interval before the scrape).
  EXPECT_LE(*value(m, max), expected + 0.2) << m;
  EXPECT_GE(*value(m, max), expected - 2.0) << m;
  auto part = [&](int p) {
    return value(m, "kafka_consumergroup_lag_seconds{" + g + ",partition=\"" + std::to_string(p) +
                        "\",topic=\"orders\"}");
  };
  EXPECT_EQ(part(0), value(m, max));
  EXPECT_EQ(part(1), 0) << "caught up";
  EXPECT_EQ(part(2), 0) << "a timestamp in the future is 0, never negative";
  EXPECT_FALSE(part(3)) << "no commit: no series";
  // The group reads on: the age follows the new oldest unread message.
  kafka.cmd("commit g1 orders 0 18");
  m = qs.waitFor([&](const std::string& t) {
    auto v = value(t, max);
    return v && *v < expected - 5;
  });
  EXPECT_NEAR(*value(m, max), (unixMillis() - (first + 18000)) / 1000.0, 2.0) << m;

  // The topic's metadata fails (UNKNOWN_TOPIC_OR_PART, 3): the group fails
  // with it, never a smaller sum or a younger maximum.
  kafka.cmd("topic_error orders 3");
  m = qs.waitFor([&](const std::string& t) { return !mentions(t, "consumergroup=\"g1\""); });
  EXPECT_FALSE(mentions(m, "kafka_consumergroup_lag_sum{" + g)) << m;
  EXPECT_GE(value(m, "queue_stats_collection_errors_total{source=\"kafka\",target=\"main/g1\"}")
                .value_or(0),
            1)
      << m;
  kafka.cmd("topic_error orders 0");
  qs.waitFor([&](const std::string& t) { return mentions(t, max); });
}

class QueueStatsSqs : public ::testing::Test {};

namespace {
const std::vector<std::string> kStaticKeys{"AWS_ACCESS_KEY_ID=AKIDQUEUESTATS",
                                           "AWS_SECRET_ACCESS_KEY=queue-stats-test-secret"};

std::string sqsConfig(const SqsPeer& peer, const std::string& queues,
                      const std::string& prefixes = "[]") {
  return "interval: 1s\nsqs:\n  region: us-east-1\n  endpoint: " + peer.endpoint() +
         "\n  caFile: " + peer.caFile() + "\n  queues: " + queues +
         "\n  queueNamePrefixes: " + prefixes + "\n";
}

}  // namespace

TEST_F(QueueStatsSqs, DepthFromTheEmulatorWithVerifiedSignatures) {
  TempDir dir;
  SqsPeer peer(dir, /*tls=*/true);
  peer.control(
      {{"op", "createQueues"}, {"names", {"orders", "emails", "batch-a", "batch-b", "other"}}});
  peer.control({{"op", "send"}, {"queue", "orders"}, {"count", 5}});
  peer.control({{"op", "receive"}, {"queue", "orders"}, {"count", 2}});
  peer.control({{"op", "send"}, {"queue", "orders"}, {"count", 1}, {"delaySeconds", 60}});
  peer.control({{"op", "send"}, {"queue", "batch-a"}, {"count", 4}});
  writeFile(dir.file("qs.yaml"), sqsConfig(peer, "[orders, emails, missing-queue]", "[batch-]"));
  QueueStats qs(dir, dir.file("qs.yaml"), kStaticKeys);
  std::string m = qs.waitFor([](const std::string& t) {
    return mentions(t, "aws_sqs_approximate_number_of_messages_visible{");
  });
  // A queue's gauge in a scrape (nullopt: no series).
  auto q = [](const std::string& text, const char* family,
              const char* queue) -> std::optional<double> {
    auto start = text.find(std::string(family) + "{queue_name=\"" + queue + "\",");
    if (start == std::string::npos) return std::nullopt;
    auto sp = text.find("} ", start);
    return std::stod(text.substr(sp + 2));
  };
  auto v = [&](const char* family, const char* queue) { return q(m, family, queue); };
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_visible", "orders"), 3) << m;
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_not_visible", "orders"), 2) << m;
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_delayed", "orders"), 1) << m;
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_visible", "emails"), 0) << m;
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_visible", "batch-a"), 4) << m;
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_visible", "batch-b"), 0) << m;
  EXPECT_FALSE(v("aws_sqs_approximate_number_of_messages_visible", "other"))
      << "neither named nor prefixed";
  EXPECT_FALSE(v("aws_sqs_approximate_number_of_messages_visible", "missing-queue")) << m;
  EXPECT_GE(value(m, "queue_stats_collection_errors_total{source=\"sqs\",target=\"missing-queue\"}")
                .value_or(0),
            1)
      << m;
  EXPECT_TRUE(mentions(m, "region=\"us-east-1\"")) << m;
  auto st = peer.control({{"op", "stats"}});
  EXPECT_GT(st["verified"].get<int>(), 0);
  EXPECT_EQ(st["rejected"].get<int>(), 0) << st.dump();
  EXPECT_GT(st["actions"].value("GetQueueAttributes", 0), 0);
  EXPECT_GT(st["actions"].value("ListQueues", 0), 0);

  // Delayed messages become visible when the emulator's timers run.
  peer.control({{"op", "send"}, {"queue", "emails"}, {"count", 2}, {"delaySeconds", 1}});
  m = qs.waitFor([&](const std::string& t) {
    return q(t, "aws_sqs_approximate_number_of_messages_delayed", "emails") == 2;
  });
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_delayed", "emails"), 2) << m;
  std::this_thread::sleep_for(1200ms);
  peer.control({{"op", "processTimers"}});
  m = qs.waitFor([&](const std::string& t) {
    return q(t, "aws_sqs_approximate_number_of_messages_visible", "emails") == 2;
  });
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_visible", "emails"), 2) << m;
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_delayed", "emails"), 0) << m;

  // Throttling is retried within the cycle: no error, no gap.
  peer.control({{"op", "resetStats"}});
  double errorsBefore =
      value(qs.metrics(), "queue_stats_collection_errors_total{source=\"sqs\",target=\"orders\"}")
          .value_or(0);
  peer.control({{"op", "faults"}, {"faults", {{"throttleNext", 3}}}});
  m = qs.waitFor([&](const std::string&) {
    return peer.control({{"op", "stats"}})["verified"].get<int>() > 12;
  });
  EXPECT_EQ(peer.control({{"op", "stats"}})["throttled"], 3);
  EXPECT_EQ(
      value(m, "queue_stats_collection_errors_total{source=\"sqs\",target=\"orders\"}").value_or(0),
      errorsBefore);
  // A queue whose calls keep failing disappears (not 0) until it recovers.
  peer.control({{"op", "faults"}, {"faults", {{"failQueue", "emails"}}}});
  m = qs.waitFor([&](const std::string& t) {
    return !q(t, "aws_sqs_approximate_number_of_messages_visible", "emails");
  });
  EXPECT_FALSE(v("aws_sqs_approximate_number_of_messages_visible", "emails")) << m;
  EXPECT_TRUE(v("aws_sqs_approximate_number_of_messages_visible", "orders")) << m;
  EXPECT_GE(
      value(m, "queue_stats_collection_errors_total{source=\"sqs\",target=\"emails\"}").value_or(0),
      1)
      << m;
  peer.control({{"op", "faults"}, {"faults", {{"failQueue", ""}}}});
  m = qs.waitFor([&](const std::string& t) {
    return q(t, "aws_sqs_approximate_number_of_messages_visible", "emails") == 2;
  });
  EXPECT_EQ(v("aws_sqs_approximate_number_of_messages_visible", "emails"), 2)
      << "back after the failures stop";
}

TEST_F(QueueStatsSqs, AWrongSignatureIsRejectedNotZero) {
  TempDir dir;
  SqsPeer peer(dir, true);
  peer.control({{"op", "createQueues"}, {"names", {"orders"}}});
  writeFile(dir.file("qs.yaml"), sqsConfig(peer, "[orders]"));
  QueueStats qs(dir, dir.file("qs.yaml"),
                {"AWS_ACCESS_KEY_ID=AKIDQUEUESTATS", "AWS_SECRET_ACCESS_KEY=not-the-secret"});
  std::string m = qs.waitFor([](const std::string& t) {
    return mentions(t, "queue_stats_collection_errors_total{source=\"sqs\"");
  });
  EXPECT_FALSE(mentions(m, "aws_sqs_approximate_number_of_messages_visible{")) << m;
  auto st = peer.control({{"op", "stats"}});
  EXPECT_GT(st["rejected"].get<int>(), 0);
  EXPECT_EQ(st["verified"].get<int>(), 0);
  EXPECT_TRUE(qs.process().waitForLog("InvalidSignatureException", 10s)) << qs.process().log();
  EXPECT_EQ(qs.process().log().find("not-the-secret"), std::string::npos) << "no secrets in logs";
}

TEST_F(QueueStatsSqs, TemporaryCredentialsFromIrsaContainersAndImds) {
  TempDir dir;
  SqsPeer peer(dir, true);
  peer.control({{"op", "createQueues"}, {"names", {"orders"}}});
  peer.control({{"op", "send"}, {"queue", "orders"}, {"count", 2}});
  // Only the temporary credentials the fake endpoints hand out are accepted.
  peer.control({{"op", "credentials"},
                {"accepted",
                 {{"ASIATEMPORARY",
                   {{"secret", "temporary-secret"}, {"token", "temporary-session-token"}}}}},
                {"expected",
                 {{"webIdentityToken", "eyJhbGciOi.projected.jwt"},
                  {"roleArn", "arn:aws:iam::123456789012:role/queue-stats"},
                  {"containerAuthorization", "pod-identity-token"}}}});
  writeFile(dir.file("qs.yaml"), sqsConfig(peer, "[orders]"));
  writeFile(dir.file("token"), "eyJhbGciOi.projected.jwt\n");
  writeFile(dir.file("pod-token"), "pod-identity-token\n");
  const std::string visible =
      "aws_sqs_approximate_number_of_messages_visible{queue_name=\"orders\"";
  struct Way {
    const char* name;
    std::vector<std::string> env;
    const char* counter;
  } ways[] = {
      {"irsa",
       {"AWS_ROLE_ARN=arn:aws:iam::123456789012:role/queue-stats",
        "AWS_WEB_IDENTITY_TOKEN_FILE=" + dir.file("token"),
        "AWS_ENDPOINT_URL_STS=" + peer.endpoint()},
       "sts"},
      {"container",
       {"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + peer.endpoint() + "/v1/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + dir.file("pod-token")},
       "container"},
      {"imds",
       {"AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + peer.endpoint()},
       "imds"},
  };
  for (const auto& w : ways) {
    SCOPED_TRACE(w.name);
    peer.control({{"op", "resetStats"}});
    QueueStats qs(dir, dir.file("qs.yaml"), w.env, std::string("qs-") + w.name);
    std::string m = qs.waitFor([&](const std::string& t) { return mentions(t, visible); });
    EXPECT_TRUE(mentions(m, visible)) << m << qs.process().log();
    auto st = peer.control({{"op", "stats"}});
    EXPECT_GT(st[w.counter].get<int>(), 0) << st.dump();
    EXPECT_EQ(st["rejected"].get<int>(), 0) << st.dump();
  }
}
