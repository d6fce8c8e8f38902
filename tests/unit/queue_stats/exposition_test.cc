// Lag rules and the exported text: kafka_exporter's families and rules,
// failures that withdraw series instead of reporting 0.
#include "queue_stats/exposition.h"

#include <gtest/gtest.h>

using namespace queue_stats;

TEST(Lag, RulesForMissingExpiredAndRacingOffsets) {
  EXPECT_EQ(consumerLag({"t", 0, 40, {0, 100}}), 60);
  EXPECT_EQ(consumerLag({"t", 0, -1, {0, 100}}), -1) << "nothing committed";
  EXPECT_EQ(consumerLag({"t", 0, 10, {30, 100}}), 70) << "retention deleted 20 unread messages";
  EXPECT_EQ(expiredMessages({"t", 0, 10, {30, 100}}), 20);
  EXPECT_EQ(expiredMessages({"t", 0, 40, {30, 100}}), 0);
  EXPECT_EQ(consumerLag({"t", 0, 105, {0, 100}}), 0) << "offsets read a moment apart";
}

TEST(Exposition, KafkaExporterFamiliesAndSqsGauges) {
  StatsStore store;
  KafkaCycle k;
  k.cluster = "main";
  k.clusterOk = true;
  k.topics = {{"orders", {{0, 100}, {5, 50}, {0, 10}}}};
  KafkaGroupStats g{
      "orders-consumer",
      2,
      {{"orders", 0, 40, {0, 100}}, {"orders", 1, -1, {5, 50}}, {"orders", 2, 4, {6, 10}}}};
  k.groups["orders-consumer"] = g;
  k.groups["quiet"] = {"quiet", std::nullopt, {{"orders", 0, -1, {0, 100}}}};
  k.groupErrors["broken"] = "COORDINATOR_NOT_AVAILABLE";
  store.publish(k, 1700000000000, 30000);
  SqsCycle s;
  s.queues = {{"us-east-1", "orders", "https://sqs.us-east-1.amazonaws.com/123/orders", 42, 3, 1}};
  s.queueErrors["gone"] = "QueueDoesNotExist";
  store.publish(s, 1700000001000, 30000);
  CollectionMetrics metrics;
  std::string text = renderMetrics(store, metrics);
  for (const char* line : {
           "kafka_topic_partitions{cluster=\"main\",topic=\"orders\"} 3",
           "kafka_topic_partition_current_offset{cluster=\"main\",partition=\"1\",topic=\"orders\"}"
           " 50",
           "kafka_topic_partition_oldest_offset{cluster=\"main\",partition=\"1\",topic=\"orders\"} "
           "5",
           "kafka_consumergroup_lag{cluster=\"main\",consumergroup=\"orders-consumer\",partition="
           "\"0\",topic=\"orders\"} 60",
           "kafka_consumergroup_lag{cluster=\"main\",consumergroup=\"orders-consumer\",partition="
           "\"1\",topic=\"orders\"} -1",
           "kafka_consumergroup_current_offset{cluster=\"main\",consumergroup=\"orders-consumer\","
           "partition=\"1\",topic=\"orders\"} -1",
           // The -1 partition stays out of both sums; partition 2 lags 4 (6 of its unread messages
           // expired).
           "kafka_consumergroup_lag_sum{cluster=\"main\",consumergroup=\"orders-consumer\",topic="
           "\"orders\"} 64",
           "kafka_consumergroup_current_offset_sum{cluster=\"main\",consumergroup=\"orders-"
           "consumer\",topic=\"orders\"} 44",
           "kafka_consumergroup_expired_messages{cluster=\"main\",consumergroup=\"orders-"
           "consumer\",partition=\"2\",topic=\"orders\"} 2",
           "kafka_consumergroup_members{cluster=\"main\",consumergroup=\"orders-consumer\"} 2",
           "aws_sqs_approximate_number_of_messages_visible{queue_name=\"orders\",queue_url=\"https:"
           "//sqs.us-east-1.amazonaws.com/123/orders\",region=\"us-east-1\"} 42",
           "aws_sqs_approximate_number_of_messages_not_visible{queue_name=\"orders\",queue_url="
           "\"https://sqs.us-east-1.amazonaws.com/123/orders\",region=\"us-east-1\"} 3",
           "aws_sqs_approximate_number_of_messages_delayed{queue_name=\"orders\",queue_url=\"https:"
           "//sqs.us-east-1.amazonaws.com/123/orders\",region=\"us-east-1\"} 1",
           "queue_stats_collection_errors_total{source=\"kafka\",target=\"main/broken\"} 1",
           "queue_stats_collection_errors_total{source=\"sqs\",target=\"gone\"} 1",
           "queue_stats_last_success_timestamp_seconds{source=\"kafka\",target=\"main/"
           "orders-consumer\"} 1700000000",
           "# TYPE kafka_consumergroup_lag gauge",
       }) {
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << line << "\n---\n" << text;
  }
  // Unknown member counts and failed targets have no series at all.
  EXPECT_EQ(text.find("kafka_consumergroup_members{cluster=\"main\",consumergroup=\"quiet\"}"),
            std::string::npos);
  EXPECT_EQ(text.find("consumergroup=\"broken\""), std::string::npos);
  EXPECT_EQ(text.find("lag_sum{cluster=\"main\",consumergroup=\"quiet\""), std::string::npos)
      << "a group without any commit has no sum";

  // The cluster fails next cycle: all its series go, the errors stay.
  KafkaCycle down;
  down.cluster = "main";
  down.clusterError = "all brokers down";
  store.publish(down, 1700000015000, 30000);
  text = renderMetrics(store, metrics);
  EXPECT_EQ(text.find("kafka_consumergroup_lag{"), std::string::npos);
  EXPECT_EQ(text.find("kafka_topic_partitions{"), std::string::npos);
  EXPECT_NE(text.find("queue_stats_collection_errors_total{source=\"kafka\",target=\"main\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("aws_sqs_approximate_number_of_messages_visible{"), std::string::npos);
}

TEST(Exposition, LabelValuesAreEscaped) {
  StatsStore store;
  KafkaCycle k;
  k.cluster = "c";
  k.clusterOk = true;
  k.topics = {{"t", {{0, 5}}}};
  k.groups["we\"ird\\group\nname"] = {"we\"ird\\group\nname", std::nullopt, {{"t", 0, 1, {0, 5}}}};
  store.publish(k, 1700000000500, 30000);
  std::string text = renderMetrics(store, CollectionMetrics());
  EXPECT_NE(text.find("consumergroup=\"we\\\"ird\\\\group\\nname\""), std::string::npos) << text;
  EXPECT_NE(text.find("target=\"c/we\\\"ird\\\\group\\nname\"} 1700000000.500\n"),
            std::string::npos)
      << text;
}

TEST(Exposition, ValuesNotMeasuredAgainInTimeAreWithdrawnAndMarkedStale) {
  StatsStore store;
  KafkaCycle k;
  k.cluster = "main";
  k.clusterOk = true;
  k.topics = {{"orders", {{0, 100}}}};
  k.groups["g"] = {"g", std::nullopt, {{"orders", 0, 40, {0, 100}}}};
  store.publish(k, 1000, 2000);
  SqsCycle s;
  s.queues = {{"us-east-1", "jobs", "https://sqs/123/jobs", 4, 0, 0}};
  store.publish(s, 1500, 2000);
  uint64_t version = store.snapshot()->version;
  store.expire(2999);
  EXPECT_EQ(store.snapshot()->version, version) << "nothing expired: nothing published";
  EXPECT_NE(renderMetrics(store, CollectionMetrics()).find("kafka_consumergroup_lag{"),
            std::string::npos);
  store.expire(3000);
  auto snap = store.snapshot();
  EXPECT_GT(snap->version, version) << "a change is published (streams push it)";
  EXPECT_TRUE(snap->groups.at({"main", "g"}).stale);
  EXPECT_TRUE(snap->topics.at({"main", "orders"}).stale);
  EXPECT_FALSE(snap->queues.at("https://sqs/123/jobs").stale) << "SQS has its own time";
  std::string text = renderMetrics(store, CollectionMetrics());
  EXPECT_EQ(text.find("kafka_consumergroup_lag{"), std::string::npos) << text;
  EXPECT_EQ(text.find("kafka_topic_partitions{"), std::string::npos);
  EXPECT_NE(text.find("aws_sqs_approximate_number_of_messages_visible{"), std::string::npos);
  // A group that fails keeps its last values only as stale; a success
  // makes it current again.
  store.publish(k, 4000, 2000);
  EXPECT_FALSE(store.snapshot()->groups.at({"main", "g"}).stale);
  KafkaCycle failed = k;
  failed.groups.clear();
  failed.groupErrors["g"] = "COORDINATOR_NOT_AVAILABLE";
  store.publish(failed, 5000, 2000);
  EXPECT_TRUE(store.snapshot()->groups.at({"main", "g"}).stale);
  EXPECT_EQ(renderMetrics(store, CollectionMetrics()).find("consumergroup=\"g\""),
            std::string::npos);
  // A failed listing keeps the queues it would have found, stale.
  SqsCycle listing;
  listing.failedPrefixes = {"jo"};
  store.publish(listing, 6000, 2000);
  EXPECT_TRUE(store.snapshot()->queues.at("https://sqs/123/jobs").stale);
  // A cluster no longer configured goes.
  store.configure({}, false);
  EXPECT_TRUE(store.snapshot()->groups.empty());
  EXPECT_TRUE(store.snapshot()->queues.empty());
}

TEST(Exposition, LagSecondsPerPartitionAndTheTopicsMaximum) {
  StatsStore store;
  KafkaCycle k;
  k.cluster = "main";
  k.clusterOk = true;
  k.topics = {{"orders", {{0, 100}, {0, 100}, {0, 100}}}, {"audit", {{0, 9}, {0, 9}}}};
  KafkaGroupStats g{"g",
                    std::nullopt,
                    {{"audit", 0, 1, {0, 9}, 3.0},
                     {"audit", 1, 2, {0, 9}, std::nullopt},
                     {"orders", 0, 40, {0, 100}, 12.25},
                     {"orders", 1, 100, {0, 100}, 0.0},
                     {"orders", 2, -1, {0, 100}, std::nullopt}}};
  k.groups["g"] = g;
  store.publish(k, 1000, 30000);
  std::string text = renderMetrics(store, CollectionMetrics());
  for (const char* line : {
           "kafka_consumergroup_lag_seconds{cluster=\"main\",consumergroup=\"g\",partition=\"0\","
           "topic=\"orders\"} 12.25",
           "kafka_consumergroup_lag_seconds{cluster=\"main\",consumergroup=\"g\",partition=\"1\","
           "topic=\"orders\"} 0",
           "kafka_consumergroup_lag_seconds_max{cluster=\"main\",consumergroup=\"g\",topic="
           "\"orders\"} 12.25",
       })
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << text;
  EXPECT_EQ(text.find("lag_seconds{cluster=\"main\",consumergroup=\"g\",partition=\"2\""),
            std::string::npos)
      << "no commit: no series";
  EXPECT_EQ(text.find("lag_seconds_max{cluster=\"main\",consumergroup=\"g\",topic=\"audit\"}"),
            std::string::npos)
      << "a partition not read: no maximum (it could only look younger)";
}

TEST(Exposition, TheCollectionIntervalForStalenessAlerts) {
  // Alerts compare the age of queue_stats_last_success_timestamp_seconds
  // with this, not with a number of their own.
  StatsStore store;
  CollectionMetrics metrics;
  metrics.setInterval(15);
  std::string text = renderMetrics(store, metrics);
  EXPECT_NE(text.find("# TYPE queue_stats_collection_interval_seconds gauge\n"
                      "queue_stats_collection_interval_seconds 15\n"),
            std::string::npos)
      << text;
  metrics.setInterval(0.5);
  EXPECT_NE(renderMetrics(store, metrics).find("queue_stats_collection_interval_seconds 0.5\n"),
            std::string::npos);
}
