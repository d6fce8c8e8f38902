// The queue-stats feed as external metrics: which series a snapshot
// becomes, selectors, the rules provider behind it, and stale or missing
// data answered as 503, never as a value.
#include <gtest/gtest.h>

#include <sstream>

#include "adapter/feed/feed_module_loader.h"
#include "adapter/feed/feed_source.h"
#include "adapter/providers/external_chain.h"
#include "adapter/providers/queue_feed_source.h"
#include "apiservice/status.h"
#include "fake_clock.h"
#include "fake_external_source.h"
#include "fake_feed_source.h"
#include "queue_stats.pb.h"
#include "run_task.h"

using namespace adapter;

namespace {

constexpr int64_t kNow = 1700000000000;

queuestats::v1::Snapshot sampleSnapshot(int64_t at) {
  queuestats::v1::Snapshot s;
  s.set_version(7);
  auto* t = s.add_kafka();
  t->set_cluster("main");
  t->set_group("orders-consumer");
  t->set_topic("orders");
  t->set_lag_sum(60);
  t->set_current_offset_sum(70);
  t->set_partition_count(2);
  t->set_partitions_without_commit(1);
  t->set_members(3);
  t->set_collected_at_ms(at);
  auto* p = t->add_partitions();
  p->set_partition(0);
  p->set_committed(40);
  p->set_high(100);
  p->set_lag(60);
  p = t->add_partitions();
  p->set_partition(1);
  p->set_committed(-1);
  p->set_lag(-1);
  auto* quiet = s.add_kafka();  // nothing committed anywhere
  quiet->set_cluster("main");
  quiet->set_group("new-group");
  quiet->set_topic("orders");
  quiet->set_partition_count(1);
  quiet->set_partitions_without_commit(1);
  quiet->set_members(-1);
  quiet->set_collected_at_ms(at);
  auto* q = s.add_sqs();
  q->set_region("us-east-1");
  q->set_name("emails");
  q->set_url("https://sqs.us-east-1.amazonaws.com/123456789012/emails");
  q->set_visible(12);
  q->set_not_visible(2);
  q->set_delayed(1);
  q->set_collected_at_ms(at);
  return s;
}

struct Fixture {
  mocks::FakeFeedSource feed;
  mocks::FakeExternalSource rules{"rules"};  // the rules-based source behind the feed
  mocks::FakeClock clock{kNow};
  QueueFeedSource feedSource{feed, "queue-stats:9309", std::chrono::seconds(60), clock};
  ExternalMetricsChain provider{{&feedSource, &rules}};
  Fixture() {
    for (const char* metric : {"http_requests", "kafka_consumergroup_lag_sum"})
      rules.claim(metric, {{metric, {{"from", "prometheus"}}, 1, kNow}});
  }
  std::vector<apiservice::ExternalMetricValue> get(const std::string& metric,
                                                   const std::string& selector = "") {
    return mocks::run(
        provider.getExternalMetric({"default", metric, selector}, mocks::farDeadline()));
  }
};

int codeOf(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const apiservice::StatusError& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return 200;
}

}  // namespace

TEST(FeedData, SeriesFromASnapshot) {
  FeedData d = feedDataFromSnapshot(sampleSnapshot(kNow));
  EXPECT_EQ(d.version, 7u);
  ASSERT_EQ(d.metrics["kafka_consumergroup_lag_sum"].size(), 1u)
      << "a group with no commit has no sum, not a 0";
  const auto& sum = d.metrics["kafka_consumergroup_lag_sum"][0];
  EXPECT_EQ(sum.value, 60);
  EXPECT_EQ(sum.labels,
            (std::map<std::string, std::string>{
                {"cluster", "main"}, {"consumergroup", "orders-consumer"}, {"topic", "orders"}}));
  EXPECT_EQ(sum.collectedAtMs, kNow);
  ASSERT_EQ(d.metrics["kafka_consumergroup_lag"].size(), 1u)
      << "partitions without a commit are left out";
  EXPECT_EQ(d.metrics["kafka_consumergroup_lag"][0].labels.at("partition"), "0");
  EXPECT_EQ(d.metrics["kafka_consumergroup_current_offset_sum"][0].value, 70);
  ASSERT_EQ(d.metrics["kafka_consumergroup_members"].size(), 1u)
      << "unknown members (-1) are left out";
  EXPECT_EQ(d.metrics["kafka_consumergroup_members"][0].value, 3);
  EXPECT_EQ(d.metrics["kafka_consumergroup_members"][0].labels.count("topic"), 0u);
  const auto& visible = d.metrics["aws_sqs_approximate_number_of_messages_visible"];
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_EQ(visible[0].value, 12);
  EXPECT_EQ(visible[0].labels,
            (std::map<std::string, std::string>{
                {"queue_name", "emails"},
                {"queue_url", "https://sqs.us-east-1.amazonaws.com/123456789012/emails"},
                {"region", "us-east-1"}}));
  EXPECT_EQ(d.metrics["aws_sqs_approximate_number_of_messages_not_visible"][0].value, 2);
  EXPECT_EQ(d.metrics["aws_sqs_approximate_number_of_messages_delayed"][0].value, 1);
  for (const auto& [name, series] : d.metrics) {
    const auto& names = feedMetricNames();
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end())
        << name << " is served but not listed";
  }
}

TEST(QueueFeedProvider, ServesFeedNamesAndPassesTheRestOn) {
  Fixture f;
  f.feed.publish(std::make_shared<FeedData>(feedDataFromSnapshot(sampleSnapshot(kNow - 5000))));
  auto v = f.get("kafka_consumergroup_lag_sum", "consumergroup=orders-consumer");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].value, 60);
  EXPECT_EQ(v[0].timestampMs, kNow - 5000) << "when queue-stats measured it";
  EXPECT_EQ(v[0].labels.at("topic"), "orders");
  EXPECT_TRUE(f.get("kafka_consumergroup_lag_sum", "consumergroup=other").empty());
  EXPECT_EQ(f.get("aws_sqs_approximate_number_of_messages_visible", "queue_name in (emails,orders)")
                .at(0)
                .value,
            12);
  EXPECT_EQ(f.get("http_requests").at(0).labels.at("from"), "prometheus");
  EXPECT_EQ(f.get("kafka_consumergroup_lag_sum").at(0).labels.count("from"), 0u)
      << "the feed wins over a rule";
  auto names = f.provider.listExternalMetrics();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::count(names.begin(), names.end(), "kafka_consumergroup_lag_sum"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "http_requests"), 1);
  EXPECT_EQ(
      std::count(names.begin(), names.end(), "aws_sqs_approximate_number_of_messages_delayed"), 1);
  EXPECT_EQ(codeOf([&] { f.get("kafka_consumergroup_lag_sum", "consumergroup in (a"); }), 400);
}

TEST(QueueFeedProvider, NoDataAndStaleDataAre503) {
  Fixture f;
  f.feed.setStatus({false, 0, 0, "failed to connect to all addresses"});
  std::string message;
  EXPECT_EQ(codeOf([&] { f.get("kafka_consumergroup_lag_sum"); }, &message), 503);
  EXPECT_NE(message.find("no data from queue-stats at queue-stats:9309 yet: failed to connect"),
            std::string::npos)
      << message;
  f.feed.publish(std::make_shared<FeedData>(feedDataFromSnapshot(sampleSnapshot(kNow))));
  f.feed.setStatus({true, 0, 1, ""});
  f.clock.advance(60000);
  EXPECT_EQ(f.get("kafka_consumergroup_lag_sum").size(), 1u) << "exactly at the limit";
  f.clock.advance(1);
  EXPECT_EQ(codeOf([&] { f.get("kafka_consumergroup_lag_sum"); }, &message), 503);
  EXPECT_NE(message.find("older than --queue-stats-max-age (60 s)"), std::string::npos) << message;
  EXPECT_NE(message.find("queue-stats is not collecting it"), std::string::npos) << message;
  f.feed.setStatus({false, 2, 1, "Socket closed"});
  EXPECT_EQ(codeOf([&] { f.get("aws_sqs_approximate_number_of_messages_visible"); }, &message),
            503);
  EXPECT_NE(message.find("the feed from queue-stats:9309 is down: Socket closed"),
            std::string::npos)
      << message;
  // A stale series outside the selector does not matter.
  EXPECT_TRUE(f.get("kafka_consumergroup_lag_sum", "consumergroup=other").empty());
}

TEST(QueueStatsFeedModule, AMissingModuleIsAClearError) {
  // The test binary's folder holds no feed module (the adapter's does).
  std::ostringstream out;
  common::Logger log(out, 0, common::Logger::Format::Text);
  QueueStatsFeedOptions opts;
  opts.address = "127.0.0.1:9309";
  try {
    loadQueueStatsFeed(opts, log);
    FAIL() << "loaded a module that is not there";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--queue-stats-address needs the feed module"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("metrics-adapter-queue-feed.so"), std::string::npos)
        << e.what();
  }
}
