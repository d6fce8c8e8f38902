// The queue-stats feed as external metrics: which series a snapshot
// becomes, selectors, the rules provider behind it, stale or missing data
// answered as 503, never as a value, and the client's TLS file reload.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "adapter/feed/feed_module_loader.h"
#include "adapter/feed/feed_source.h"
#include "adapter/providers/external_chain.h"
#include "adapter/providers/queue_feed_source.h"
#include "apiservice/status.h"
#include "fake_clock.h"
#include "fake_external_source.h"
#include "fake_feed_source.h"
#include "queue_stats.grpc.pb.h"
#include "queue_stats.pb.h"
#include "queue_stats_feed.h"
#include "run_task.h"
#include "test_pki.h"

using namespace adapter;

namespace {

constexpr int64_t kNow = 1700000000000;

// queue-stats' clock is ten years ahead: only age_ms may count.
constexpr int64_t kTheirClock = kNow + int64_t{10} * 365 * 24 * 3600 * 1000;

// Measured `ageMs` before it was sent.
queuestats::v1::Snapshot sampleSnapshot(int64_t ageMs) {
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
  t->set_collected_at_ms(kTheirClock);
  t->set_age_ms(ageMs);
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
  quiet->set_collected_at_ms(kTheirClock);
  quiet->set_age_ms(ageMs);
  auto* q = s.add_sqs();
  q->set_region("us-east-1");
  q->set_name("emails");
  q->set_url("https://sqs.us-east-1.amazonaws.com/123456789012/emails");
  q->set_visible(12);
  q->set_not_visible(2);
  q->set_delayed(1);
  q->set_collected_at_ms(kTheirClock);
  q->set_age_ms(ageMs);
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
  FeedData d = feedDataFromSnapshot(sampleSnapshot(0), kNow);
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
  f.feed.publish(std::make_shared<FeedData>(feedDataFromSnapshot(sampleSnapshot(5000), kNow)));
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
  f.feed.publish(std::make_shared<FeedData>(feedDataFromSnapshot(sampleSnapshot(0), kNow)));
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

namespace {

queuestats::v1::KafkaGroupTopic* addTopic(queuestats::v1::Snapshot& s, const std::string& group,
                                          int64_t ageMs, bool stale) {
  auto* t = s.add_kafka();
  t->set_cluster("main");
  t->set_group(group);
  t->set_topic("orders");
  t->set_lag_sum(group.size());
  t->set_partition_count(1);
  t->set_members(1);
  t->set_collected_at_ms(kTheirClock);
  t->set_age_ms(ageMs);
  t->set_stale(stale);
  auto* p = t->add_partitions();
  p->set_partition(0);
  p->set_committed(5);
  p->set_lag(static_cast<int64_t>(group.size()));
  return t;
}

std::vector<int64_t> collectedTimes(const FeedData& d) {
  std::vector<int64_t> out;
  for (const auto& [name, series] : d.metrics)
    for (const auto& s : series) out.push_back(s.collectedAtMs);
  return out;
}

}  // namespace

TEST(FeedData, AgeIsCountedOnTheAdaptersClock) {
  // collected_at_ms (queue-stats' clock, ten years ahead) is ignored.
  FeedData d = feedDataFromSnapshot(sampleSnapshot(5000), kNow);
  EXPECT_EQ(d.receivedAtMs, kNow);
  auto times = collectedTimes(d);
  ASSERT_EQ(times.size(), 7u);  // sum, offset sum, lag, members, 3 SQS
  for (int64_t t : times) EXPECT_EQ(t, kNow - 5000);

  queuestats::v1::Snapshot odd;
  addTopic(odd, "ahead", -3000, false);  // a negative age is "just now"
  addTopic(odd, "ancient", std::numeric_limits<int64_t>::max(), false);
  addTopic(odd, "lowest", std::numeric_limits<int64_t>::min(), false);
  d = feedDataFromSnapshot(odd, kNow);
  const auto& sums = d.metrics.at("kafka_consumergroup_lag_sum");
  ASSERT_EQ(sums.size(), 3u);
  EXPECT_EQ(sums[0].collectedAtMs, kNow);
  EXPECT_EQ(sums[1].collectedAtMs, kNow - int64_t{10} * 366 * 24 * 3600 * 1000)
      << "clamped to ten years, no overflow";
  EXPECT_EQ(sums[2].collectedAtMs, kNow);
  // A local clock near the bottom of int64 cannot underflow either.
  d = feedDataFromSnapshot(odd, std::numeric_limits<int64_t>::min() + 10);
  EXPECT_EQ(d.metrics.at("kafka_consumergroup_lag_sum")[1].collectedAtMs,
            std::numeric_limits<int64_t>::min());
}

TEST(QueueFeedProvider, MaxAgeCountsFromTheAgeOnTheLocalClock) {
  Fixture f;
  f.feed.setStatus({true, 0, 1, ""});
  f.feed.publish(std::make_shared<FeedData>(feedDataFromSnapshot(sampleSnapshot(5000), kNow)));
  auto v = f.get("kafka_consumergroup_lag_sum");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].timestampMs, kNow - 5000);
  f.clock.advance(55000);  // measured 60 s ago: at the limit
  EXPECT_EQ(f.get("kafka_consumergroup_lag_sum").at(0).value, 60);
  f.clock.advance(1);
  std::string message;
  EXPECT_EQ(codeOf([&] { f.get("kafka_consumergroup_lag_sum"); }, &message), 503);
  EXPECT_NE(message.find("was measured 60 s ago, older than --queue-stats-max-age (60 s)"),
            std::string::npos)
      << message;
}

TEST(QueueFeedProvider, AStaleSeriesIs503NamingIt) {
  Fixture f;
  f.feed.setStatus({true, 0, 1, ""});
  queuestats::v1::Snapshot s;
  addTopic(s, "payments", 1000, false);
  addTopic(s, "orders-consumer", 1000, true)->set_lag_seconds_max(12.5);
  auto* again = addTopic(s, "payments", 500, true);  // the same group's other topic
  again->set_topic("refunds");
  again->set_members(9);
  auto* q = s.add_sqs();
  q->set_name("emails");
  q->set_stale(true);
  f.feed.publish(std::make_shared<FeedData>(feedDataFromSnapshot(s, kNow)));
  std::string message;
  // Part of a sum: never left out silently.
  EXPECT_EQ(codeOf([&] { f.get("kafka_consumergroup_lag_sum"); }, &message), 503);
  EXPECT_NE(message.find("kafka_consumergroup_lag_sum{cluster=main,consumergroup=orders-consumer,"
                         "topic=orders} is stale: queue-stats reports it cannot measure it now"),
            std::string::npos)
      << message;
  for (const char* metric : {"kafka_consumergroup_lag", "kafka_consumergroup_lag_seconds_max",
                             "aws_sqs_approximate_number_of_messages_visible"})
    EXPECT_EQ(codeOf([&] { f.get(metric); }), 503) << metric;
  // A selector that matches only fresh series still answers.
  auto v = f.get("kafka_consumergroup_lag_sum", "consumergroup=payments,topic=orders");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].value, 8);
  EXPECT_EQ(v[0].timestampMs, kNow - 1000);
  EXPECT_EQ(
      f.get("kafka_consumergroup_lag", "consumergroup!=orders-consumer,topic=orders").at(0).value,
      8);
  EXPECT_EQ(codeOf([&] { f.get("kafka_consumergroup_lag_sum", "consumergroup=payments"); }), 503)
      << "payments on refunds is stale";
  // Members: the group's fresh report, not a newer but stale one.
  EXPECT_EQ(f.get("kafka_consumergroup_members", "consumergroup=payments").at(0).value, 1);
}

TEST(QueueFeedProvider, LagSecondsOnlyWhenTheFeedHasThem) {
  Fixture f;
  f.feed.setStatus({true, 0, 1, ""});
  queuestats::v1::Snapshot s;
  auto* t = addTopic(s, "payments", 0, false);
  t->set_lag_seconds_max(42.5);
  t->mutable_partitions(0)->set_lag_seconds(42.5);
  auto* p = t->add_partitions();  // read, but no age
  p->set_partition(1);
  p->set_committed(3);
  p->set_lag(0);
  p = t->add_partitions();  // nothing committed: no series even with an age
  p->set_partition(2);
  p->set_committed(-1);
  p->set_lag(-1);
  p->set_lag_seconds(9);
  addTopic(s, "quiet", 0, false);  // no lag_seconds_max: no series
  f.feed.publish(std::make_shared<FeedData>(feedDataFromSnapshot(s, kNow)));
  auto max = f.get("kafka_consumergroup_lag_seconds_max");
  ASSERT_EQ(max.size(), 1u);
  EXPECT_EQ(max[0].value, 42.5);
  EXPECT_EQ(max[0].labels,
            (std::map<std::string, std::string>{
                {"cluster", "main"}, {"consumergroup", "payments"}, {"topic", "orders"}}));
  EXPECT_TRUE(f.get("kafka_consumergroup_lag_seconds_max", "consumergroup=quiet").empty());
  auto perPartition = f.get("kafka_consumergroup_lag_seconds");
  ASSERT_EQ(perPartition.size(), 1u);
  EXPECT_EQ(perPartition[0].value, 42.5);
  EXPECT_EQ(perPartition[0].labels.at("partition"), "0");
  EXPECT_EQ(perPartition[0].labels.at("consumergroup"), "payments");
  EXPECT_EQ(f.get("kafka_consumergroup_lag", "consumergroup=payments").size(), 2u);
  auto names = f.provider.listExternalMetrics();
  for (const char* n : {"kafka_consumergroup_lag_seconds", "kafka_consumergroup_lag_seconds_max"})
    EXPECT_EQ(std::count(names.begin(), names.end(), n), 1) << n << " is not in discovery";
}

// The feed client against an in-process queue-stats gRPC server over mTLS.
namespace {

namespace pb = queuestats::v1;

// Sends one snapshot (its version names the server) and holds the stream.
class OneSnapshotService final : public pb::QueueStats::Service {
 public:
  explicit OneSnapshotService(uint64_t version) : version_(version) {}
  grpc::Status List(grpc::ServerContext*, const pb::Filter*, pb::Snapshot* out) override {
    out->set_version(version_);
    return grpc::Status::OK;
  }
  grpc::Status Watch(grpc::ServerContext* ctx, const pb::Filter*,
                     grpc::ServerWriter<pb::Snapshot>* writer) override {
    pb::Snapshot s;
    s.set_version(version_);
    writer->Write(s);
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::OK;
  }

 private:
  uint64_t version_;
};

// A queue-stats stand-in that asks for a client certificate from `clientCa`.
struct TlsFeedServer {
  OneSnapshotService service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  TlsFeedServer(uint64_t version, const testsupport::KeyPair& serving, const std::string& clientCa,
                int atPort = 0)
      : service(version) {
    grpc::SslServerCredentialsOptions ssl(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = clientCa;
    ssl.pem_key_cert_pairs.push_back({serving.keyPem, serving.certPem});
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(atPort), grpc::SslServerCredentials(ssl),
                       &port);
    b.RegisterService(&service);
    server = b.BuildAndStart();
  }
  ~TlsFeedServer() { server->Shutdown(std::chrono::system_clock::now()); }
};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/feed-tls-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  // Replaced whole (write, then rename), as a secret update does.
  std::string write(const std::string& name, const std::string& content) const {
    auto tmp = path / (name + ".new");
    std::ofstream(tmp) << content;
    std::filesystem::rename(tmp, path / name);
    return (path / name).string();
  }
};

struct LogLines {
  std::mutex mu;
  std::vector<std::string> lines;
  FeedLog sink() {
    return [this](bool, const std::string& message, const std::string& error) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(message + ": " + error);
    };
  }
  bool has(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& l : lines)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
};

bool eventually(const std::function<bool()>& done,
                std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

uint64_t versionOf(const FeedSource& feed) {
  auto d = feed.current();
  return d ? d->version : 0;
}

testsupport::KeyPair servingCert(const testsupport::TestCa& ca, const std::string& dnsName) {
  testsupport::CertOptions o("queue-stats");
  o.dnsNames = {dnsName};
  o.serverAuth = true;
  return ca.issue(o);
}

// The tests dial "localhost" (the name the certificates must match). gRPC
// resolves names with c-ares by default, and Debian's c-ares keeps a few
// bytes until exit that LeakSanitizer reports; the native resolver
// (getaddrinfo) resolves the same name without it. Called before gRPC
// starts in the process (each test runs in its own).
void useNativeResolver() { setenv("GRPC_DNS_RESOLVER", "native", 1); }

}  // namespace

TEST(QueueStatsFeedTls, ReloadsRotatedFilesBeforeTheNextConnection) {
  useNativeResolver();
  testsupport::TestCa caA("ca-a"), caB("ca-b");
  auto clientA = caA.issue({"metrics-adapter"});
  auto clientB = caB.issue({"metrics-adapter"});
  TempDir dir;
  QueueStatsFeedOptions opts;
  opts.caFile = dir.write("ca.crt", caA.pem());
  opts.certFile = dir.write("tls.crt", clientA.certPem);
  opts.keyFile = dir.write("tls.key", clientA.keyPem);
  auto first = std::make_unique<TlsFeedServer>(1, servingCert(caA, "localhost"), caA.pem());
  const int port = first->port;
  ASSERT_GT(port, 0);
  opts.address = "localhost:" + std::to_string(port);
  LogLines log;
  QueueStatsFeed feed(opts, log.sink());
  ASSERT_TRUE(eventually([&] { return versionOf(feed) == 1; })) << feed.status().lastError;

  // Rotation, half done: the new CA and certificate, the old key.
  dir.write("ca.crt", caB.pem());
  dir.write("tls.crt", clientB.certPem);
  first.reset();  // queue-stats restarts with certificates from CA B
  ASSERT_TRUE(eventually([&] { return log.has("is not the key of " + opts.certFile); }));
  EXPECT_EQ(feed.status().tlsReloads, 0u) << "a broken pair is refused";
  EXPECT_EQ(versionOf(feed), 1u) << "the values received stay";

  dir.write("tls.key", clientB.keyPem);
  TlsFeedServer second(2, servingCert(caB, "localhost"), caB.pem(), port);
  ASSERT_EQ(second.port, port);
  ASSERT_TRUE(eventually([&] { return versionOf(feed) == 2; })) << feed.status().lastError;
  EXPECT_EQ(feed.status().tlsReloads, 1u);
  EXPECT_TRUE(feed.status().connected);
  EXPECT_TRUE(log.has("TLS files changed; reconnecting with them"));
}

TEST(QueueStatsFeedTls, AServerNotNamedInItsCertificateIsRefused) {
  useNativeResolver();
  testsupport::TestCa ca("ca");
  auto client = ca.issue({"metrics-adapter"});
  TempDir dir;
  QueueStatsFeedOptions opts;
  opts.caFile = dir.write("ca.crt", ca.pem());
  opts.certFile = dir.write("tls.crt", client.certPem);
  opts.keyFile = dir.write("tls.key", client.keyPem);
  TlsFeedServer server(1, servingCert(ca, "other.example"), ca.pem());
  opts.address = "localhost:" + std::to_string(server.port);
  LogLines log;
  QueueStatsFeed feed(opts, log.sink());
  ASSERT_TRUE(eventually([&] { return feed.status().reconnects >= 2; }));
  EXPECT_EQ(feed.current(), nullptr) << "the certificate names other.example, not localhost";
  EXPECT_FALSE(feed.status().connected);
  EXPECT_FALSE(feed.status().lastError.empty());
}

TEST(QueueStatsFeedTls, UnusableFilesAtStartAreAnErrorNamingThem) {
  useNativeResolver();
  testsupport::TestCa ca("ca");
  auto one = ca.issue({"one"});
  auto other = ca.issue({"other"});
  TempDir dir;
  QueueStatsFeedOptions opts;
  opts.address = "localhost:1";
  opts.caFile = dir.write("ca.crt", ca.pem());
  opts.certFile = dir.write("tls.crt", one.certPem);
  opts.keyFile = dir.write("tls.key", other.keyPem);
  auto message = [&] {
    try {
      QueueStatsFeed feed(opts, [](bool, const std::string&, const std::string&) {});
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(), opts.keyFile + " is not the key of " + opts.certFile);
  opts.caFile = dir.write("ca.crt", "not a certificate");
  EXPECT_EQ(message(), opts.caFile + " holds no PEM certificate");
  opts.caFile = (dir.path / "missing.crt").string();
  EXPECT_EQ(message(), "cannot read " + opts.caFile);
}
