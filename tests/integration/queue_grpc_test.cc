// queue-stats' gRPC side against real clients: KEDA's external scaler
// protocol (a client generated from KEDA's externalscaler.proto), the
// QueueStats feed (List, Watch), and metrics-adapter serving the feed as
// external metrics, with staleness, reconnects and mutual TLS. The data
// comes from librdkafka's mock cluster and the SQS emulator.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "externalscaler.grpc.pb.h"
#include "queue_peers.h"
#include "queue_stats.grpc.pb.h"
#include "queue_stats_process.h"
#include "test_pki.h"
#include "test_support.h"

using nlohmann::json;
using namespace testsupport;
using namespace std::chrono_literals;

namespace {

std::string kafkaConfig(const KafkaMock& kafka, const std::string& groups) {
  return "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" + kafka.bootstrap() +
         "\"\n    groups: [" + groups + "]\n    timeout: 3s\n";
}

// The orders topic: p0 lag 60, p1 lag 0, p2 (5 messages) and p3 (empty)
// without a commit; "quiet" holds a group with nothing to read.
void seedOrders(KafkaMock& kafka) {
  kafka.cmd("topic orders 4");
  kafka.cmd("produce orders 0 100");
  kafka.cmd("produce orders 1 30");
  kafka.cmd("produce orders 2 5");
  kafka.cmd("commit orders-consumer orders 0 40");
  kafka.cmd("commit orders-consumer orders 1 30");
  kafka.cmd("topic quiet 1");
  kafka.cmd("produce quiet 0 10");
  kafka.cmd("commit quiet-consumer quiet 0 10");
}

bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds t = 20s) {
  auto deadline = std::chrono::steady_clock::now() + t;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

std::unique_ptr<externalscaler::ExternalScaler::Stub> scalerClient(
    const std::string& address,
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials()) {
  return externalscaler::ExternalScaler::NewStub(grpc::CreateChannel(address, creds));
}

externalscaler::ScaledObjectRef ref(const std::map<std::string, std::string>& metadata) {
  externalscaler::ScaledObjectRef r;
  r.set_name("consumer");
  r.set_namespace_("default");
  for (const auto& [k, v] : metadata) (*r.mutable_scalermetadata())[k] = v;
  return r;
}

template <class Call>
grpc::Status call(Call&& c) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  return c(ctx);
}

// GetMetrics for one trigger: (status, int value, float value).
struct Metric {
  grpc::Status status;
  int64_t value = -1;
  double valueFloat = -1;
  std::string name;
};
Metric metricOf(externalscaler::ExternalScaler::Stub& s,
                const std::map<std::string, std::string>& md) {
  externalscaler::GetMetricsRequest req;
  *req.mutable_scaledobjectref() = ref(md);
  req.set_metricname("s0-kafka-orders");
  externalscaler::GetMetricsResponse res;
  Metric m;
  m.status = call([&](grpc::ClientContext& ctx) { return s.GetMetrics(&ctx, req, &res); });
  if (m.status.ok() && res.metricvalues_size() == 1) {
    m.value = res.metricvalues(0).metricvalue();
    m.valueFloat = res.metricvalues(0).metricvaluefloat();
    m.name = res.metricvalues(0).metricname();
  }
  return m;
}

}  // namespace

class KedaScaler : public ::testing::Test {};

TEST_F(KedaScaler, KafkaLagWithKedasRules) {
  TempDir dir;
  KafkaMock kafka(dir);
  seedOrders(kafka);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "orders-consumer, quiet-consumer"));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  auto scaler = scalerClient(qs.grpcAddress());
  const std::map<std::string, std::string> orders{{"bootstrapServers", kafka.bootstrap()},
                                                  {"consumerGroup", "orders-consumer"},
                                                  {"topic", "orders"},
                                                  {"lagThreshold", "20"}};

  // The spec needs no data: KEDA asks for it when the ScaledObject is created.
  externalscaler::GetMetricSpecResponse spec;
  auto st = call(
      [&](grpc::ClientContext& ctx) { return scaler->GetMetricSpec(&ctx, ref(orders), &spec); });
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(spec.metricspecs_size(), 1);
  EXPECT_EQ(spec.metricspecs(0).metricname(), "kafka-orders");
  EXPECT_EQ(spec.metricspecs(0).targetsize(), 20);
  EXPECT_EQ(spec.metricspecs(0).targetsizefloat(), 20.0);

  ASSERT_TRUE(waitUntil([&] { return metricOf(*scaler, orders).status.ok(); }))
      << metricOf(*scaler, orders).status.error_message() << qs.process().log();
  // 60 + 0 + 1 + 1: KEDA counts 1 for a partition without a commit (latest).
  Metric m = metricOf(*scaler, orders);
  EXPECT_EQ(m.value, 62);
  EXPECT_EQ(m.valueFloat, 62.0);
  EXPECT_EQ(m.name, "s0-kafka-orders") << "the name KEDA asked for";
  auto with = [&](std::map<std::string, std::string> extra) {
    auto md = orders;
    for (auto& [k, v] : extra) md[k] = v;
    return metricOf(*scaler, md).value;
  };
  EXPECT_EQ(with({{"lagThreshold", "10"}}), 40) << "capped at 4 partitions x 10";
  EXPECT_EQ(with({{"lagThreshold", "10"}, {"allowIdleConsumers", "true"}}), 62);
  EXPECT_EQ(with({{"lagThreshold", "10"}, {"limitToPartitionsWithLag", "true"}}), 30)
      << "3 partitions with lag";
  EXPECT_EQ(with({{"offsetResetPolicy", "earliest"}}), 65) << "60 + 0 + 5 + 0";
  EXPECT_EQ(with({{"scaleToZeroOnInvalidOffset", "true"}}), 60);

  auto active = [&](const std::map<std::string, std::string>& md) {
    externalscaler::IsActiveResponse r;
    auto s = call([&](grpc::ClientContext& ctx) { return scaler->IsActive(&ctx, ref(md), &r); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r.result();
  };
  EXPECT_TRUE(active(orders));
  auto high = orders;
  high["activationLagThreshold"] = "62";
  EXPECT_FALSE(active(high)) << "active only above activationLagThreshold";

  // Errors carry gRPC codes KEDA logs, never a made-up 0.
  auto code = [&](const std::map<std::string, std::string>& md) {
    return metricOf(*scaler, md).status.error_code();
  };
  EXPECT_EQ(code({{"consumerGroup", "nobody"}, {"bootstrapServers", kafka.bootstrap()}}),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(code({{"consumerGroup", "orders-consumer"}, {"lagThreshold", "ten"}}),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code({{"consumerGroup", "orders-consumer"}, {"bootstrapServers", "elsewhere:9092"}}),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code({{"scalerAddress", "x"}}), grpc::StatusCode::INVALID_ARGUMENT);

  // StreamIsActive: the state at once, then each change.
  grpc::ClientContext streamCtx;
  streamCtx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto stream = scaler->StreamIsActive(
      &streamCtx, ref({{"consumerGroup", "quiet-consumer"}, {"topic", "quiet"}}));
  externalscaler::IsActiveResponse r;
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_FALSE(r.result()) << "nothing to read";
  kafka.cmd("produce quiet 0 5");
  ASSERT_TRUE(stream->Read(&r)) << "a change is pushed";
  EXPECT_TRUE(r.result());
  streamCtx.TryCancel();
  stream->Finish();
}

TEST_F(KedaScaler, SqsDepthAndMutualTls) {
  TempDir dir;
  SqsPeer peer(dir, true);
  peer.control({{"op", "createQueues"}, {"names", {"orders"}}});
  peer.control({{"op", "send"}, {"queue", "orders"}, {"count", 5}});
  peer.control({{"op", "receive"}, {"queue", "orders"}, {"count", 2}});
  peer.control({{"op", "send"}, {"queue", "orders"}, {"count", 1}, {"delaySeconds", 300}});
  writeFile(dir.file("qs.yaml"),
            "interval: 1s\nsqs:\n  region: us-east-1\n  endpoint: " + peer.endpoint() +
                "\n  caFile: " + peer.caFile() + "\n  queues: [orders]\n");
  TestCa ca("queue-stats test CA");
  CertOptions serverOpts("queue-stats");
  serverOpts.ipAddresses = {"127.0.0.1"};
  serverOpts.serverAuth = true;
  serverOpts.clientAuth = false;
  KeyPair server = ca.issue(serverOpts);
  KeyPair client = ca.issue(CertOptions("keda-operator"));
  writeFile(dir.file("ca.pem"), ca.pem());
  writeFile(dir.file("server.pem"), server.certPem);
  writeFile(dir.file("server.key"), server.keyPem);
  QueueStatsProcess qs(
      dir, dir.file("qs.yaml"),
      {"AWS_ACCESS_KEY_ID=AKIDQUEUESTATS", "AWS_SECRET_ACCESS_KEY=queue-stats-test-secret"},
      "queue-stats",
      {"--grpc-tls-cert-file", dir.file("server.pem"), "--grpc-tls-private-key-file",
       dir.file("server.key"), "--grpc-client-ca-file", dir.file("ca.pem")});
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ca.pem();
  tls.pem_cert_chain = client.certPem;
  tls.pem_private_key = client.keyPem;
  auto scaler = scalerClient(qs.grpcAddress(), grpc::SslCredentials(tls));
  const std::map<std::string, std::string> orders{{"queueName", "orders"}, {"queueLength", "2"}};
  ASSERT_TRUE(waitUntil([&] { return metricOf(*scaler, orders).status.ok(); }))
      << metricOf(*scaler, orders).status.error_message() << qs.process().log();
  EXPECT_EQ(metricOf(*scaler, orders).value, 5) << "3 visible + 2 in flight";
  auto md = orders;
  md["scaleOnInFlight"] = "false";
  EXPECT_EQ(metricOf(*scaler, md).value, 3);
  md["scaleOnDelayed"] = "true";
  EXPECT_EQ(metricOf(*scaler, md).value, 4);
  externalscaler::GetMetricSpecResponse spec;
  ASSERT_TRUE(call([&](grpc::ClientContext& ctx) {
                return scaler->GetMetricSpec(&ctx, ref(orders), &spec);
              }).ok());
  EXPECT_EQ(spec.metricspecs(0).metricname(), "aws-sqs-orders");
  EXPECT_EQ(spec.metricspecs(0).targetsizefloat(), 2.0);
  EXPECT_EQ(metricOf(*scaler, {{"queueName", "missing"}}).status.error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Without a client certificate, or without TLS, nothing is answered.
  grpc::SslCredentialsOptions noCert;
  noCert.pem_root_certs = ca.pem();
  EXPECT_FALSE(
      metricOf(*scalerClient(qs.grpcAddress(), grpc::SslCredentials(noCert)), orders).status.ok());
  EXPECT_FALSE(metricOf(*scalerClient(qs.grpcAddress()), orders).status.ok());
}

class QueueFeed : public ::testing::Test {
 protected:
  // A Prometheus stand-in: discovery finds one series of an external rule
  // that has the feed's name; every query is recorded and answers 999.
  FakeBackend prometheus_{[](const FakeRequest& r) -> FakeResponse {
    if (r.target.find("/api/v1/series") != std::string::npos)
      return {
          200,
          R"({"status":"success","data":[{"__name__":"kafka_consumergroup_lag_sum","topic":"x"}]})",
          0ms};
    return {
        200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"topic":"x"},"value":[1700000000,"999"]}]}})",
        0ms};
  }};
  std::unique_ptr<AdapterProcess> adapter(const TempDir& dir, const std::string& address,
                                          std::vector<std::string> extra = {},
                                          const std::string& name = "adapter") {
    writeFile(dir.file("rules.yaml"),
              "externalRules:\n- seriesQuery: kafka_consumergroup_lag_sum\n  metricsQuery: "
              "sum(<<.Series>>{<<.LabelMatchers>>})\n");
    std::vector<std::string> args{"--standalone", "--config=" + dir.file("rules.yaml"),
                                  "--prometheus-url=" + prometheus_.url(),
                                  "--queue-stats-address=" + address};
    args.insert(args.end(), extra.begin(), extra.end());
    auto a = std::make_unique<AdapterProcess>(args, dir, name);
    EXPECT_TRUE(a->waitReady(30s)) << a->process().log();
    return a;
  }
  static HttpsResult external(const AdapterProcess& a, const std::string& metric,
                              const std::string& selector = "") {
    return httpsGet(a.port(), "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/" + metric +
                                  (selector.empty() ? "" : "?labelSelector=" + selector));
  }
};

TEST_F(QueueFeed, ListAndWatch) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  seedOrders(kafka);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "orders-consumer, quiet-consumer"));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  ASSERT_TRUE(waitUntil([&] { return qs.status("/readyz") == 200; }));
  auto feed = queuestats::v1::QueueStats::NewStub(
      grpc::CreateChannel(qs.grpcAddress(), grpc::InsecureChannelCredentials()));
  queuestats::v1::Filter f;
  f.set_group("orders-consumer");
  queuestats::v1::Snapshot snap;
  auto st = call([&](grpc::ClientContext& ctx) { return feed->List(&ctx, f, &snap); });
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(snap.kafka_size(), 1) << snap.DebugString();
  const auto& t = snap.kafka(0);
  EXPECT_EQ(t.cluster(), "main");
  EXPECT_EQ(t.topic(), "orders");
  EXPECT_EQ(t.lag_sum(), 60);
  EXPECT_EQ(t.partition_count(), 4);
  EXPECT_EQ(t.partitions_without_commit(), 2);
  EXPECT_EQ(t.members(), -1) << "the mock cannot describe groups: unknown, not 0";
  EXPECT_GT(t.collected_at_ms(), 0);
  f.Clear();
  f.set_source("sqs");
  snap.Clear();
  ASSERT_TRUE(call([&](grpc::ClientContext& ctx) { return feed->List(&ctx, f, &snap); }).ok());
  EXPECT_EQ(snap.kafka_size(), 0);

  // Watch: the current snapshot at once, then a new one every cycle.
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  f.Clear();
  f.set_topic("quiet");
  auto stream = feed->Watch(&ctx, f);
  ASSERT_TRUE(stream->Read(&snap));
  ASSERT_EQ(snap.kafka_size(), 1);
  EXPECT_EQ(snap.kafka(0).lag_sum(), 0);
  uint64_t first = snap.version();
  kafka.cmd("produce quiet 0 7");
  bool seen = false;
  while (!seen && stream->Read(&snap)) {
    EXPECT_GT(snap.version(), first);
    seen = snap.kafka_size() == 1 && snap.kafka(0).lag_sum() == 7;
  }
  EXPECT_TRUE(seen);
  ctx.TryCancel();
  stream->Finish();
}

TEST_F(QueueFeed, AdapterServesTheFeedAsExternalMetrics) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  seedOrders(kafka);
  SqsPeer peer(dir, false);
  peer.control({{"op", "createQueues"}, {"names", {"emails"}}});
  peer.control({{"op", "send"}, {"queue", "emails"}, {"count", 4}});
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "orders-consumer") +
                                     "sqs:\n  region: us-east-1\n  endpoint: " + peer.endpoint() +
                                     "\n  queues: [emails]\n");
  auto qs = std::make_unique<QueueStatsProcess>(
      dir, dir.file("qs.yaml"),
      std::vector<std::string>{"AWS_ACCESS_KEY_ID=AKIDQUEUESTATS",
                               "AWS_SECRET_ACCESS_KEY=queue-stats-test-secret"});
  const int grpcPort = qs->grpcPort();
  auto a = adapter(dir, qs->grpcAddress(), {"--queue-stats-max-age=3s"});

  // Listed in discovery next to the rules' metrics.
  json list = json::parse(httpsGet(a->port(), "/apis/external.metrics.k8s.io/v1beta1").body);
  std::set<std::string> names;
  for (const auto& r : list["resources"]) names.insert(r["name"].get<std::string>());
  for (const char* n : {"kafka_consumergroup_lag_sum", "kafka_consumergroup_lag",
                        "aws_sqs_approximate_number_of_messages_visible",
                        "aws_sqs_approximate_number_of_messages_not_visible",
                        "aws_sqs_approximate_number_of_messages_delayed"})
    EXPECT_TRUE(names.count(n)) << n << " in " << list.dump();

  HttpsResult r;
  ASSERT_TRUE(waitUntil([&] {
    r = external(*a, "kafka_consumergroup_lag_sum", "consumergroup%3Dorders-consumer");
    return r.status == 200 && r.body.find("\"items\":[{") != std::string::npos;
  })) << r.status
      << " " << r.body << a->process().log();
  json j = json::parse(r.body);
  EXPECT_EQ(j["kind"], "ExternalMetricValueList");
  ASSERT_EQ(j["items"].size(), 1u) << j.dump();
  EXPECT_EQ(j["items"][0]["metricName"], "kafka_consumergroup_lag_sum");
  EXPECT_EQ(j["items"][0]["value"], "60")
      << "from the feed, not the 999 a Prometheus rule of that name gives";
  EXPECT_EQ(j["items"][0]["metricLabels"],
            json({{"cluster", "main"}, {"consumergroup", "orders-consumer"}, {"topic", "orders"}}));
  for (const auto& req : prometheus_.requests())
    EXPECT_EQ(req.target.find("/api/v1/query"), std::string::npos)
        << "Prometheus was queried: " << req.target;
  j = json::parse(
      external(*a, "kafka_consumergroup_lag", "consumergroup%3Dorders-consumer,partition%3D0")
          .body);
  ASSERT_EQ(j["items"].size(), 1u) << j.dump();
  EXPECT_EQ(j["items"][0]["value"], "60");
  ASSERT_TRUE(waitUntil([&] {
    return external(*a, "aws_sqs_approximate_number_of_messages_visible", "queue_name%3Demails")
               .body.find("\"value\":\"4\"") != std::string::npos;
  })) << external(*a, "aws_sqs_approximate_number_of_messages_visible", "queue_name%3Demails").body
      << qs->process().log();
  j = json::parse(
      external(*a, "aws_sqs_approximate_number_of_messages_visible", "queue_name%3Demails").body);
  EXPECT_EQ(j["items"][0]["metricLabels"]["region"], "us-east-1");
  EXPECT_EQ(json::parse(
                external(*a, "kafka_consumergroup_lag_sum", "consumergroup%3Dnobody").body)["items"]
                .size(),
            0u);
  EXPECT_EQ(external(*a, "kafka_consumergroup_lag_sum", "consumergroup+in+(a").status, 400);

  // New lag reaches the HPA within a cycle, with no scrape in between.
  kafka.cmd("produce orders 0 25");
  EXPECT_TRUE(waitUntil([&] {
    return external(*a, "kafka_consumergroup_lag_sum", "consumergroup%3Dorders-consumer")
               .body.find("\"value\":\"85\"") != std::string::npos;
  }));

  // queue-stats freezes: after --queue-stats-max-age the values are 503, never served as current.
  qs->process().signal(SIGSTOP);
  ASSERT_TRUE(
      waitUntil([&] { return external(*a, "kafka_consumergroup_lag_sum").status == 503; }, 10s));
  r = external(*a, "kafka_consumergroup_lag_sum");
  json status = json::parse(r.body);
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["reason"], "ServiceUnavailable");
  EXPECT_NE(status["message"].get<std::string>().find("older than --queue-stats-max-age (3 s)"),
            std::string::npos)
      << r.body;
  qs->process().signal(SIGCONT);
  EXPECT_TRUE(waitUntil([&] { return external(*a, "kafka_consumergroup_lag_sum").status == 200; }));

  // queue-stats restarts: the adapter reconnects by itself.
  qs.reset();
  ASSERT_TRUE(
      waitUntil([&] { return external(*a, "kafka_consumergroup_lag_sum").status == 503; }, 10s));
  kafka.cmd("commit orders-consumer orders 0 125");
  qs = std::make_unique<QueueStatsProcess>(
      dir, dir.file("qs.yaml"),
      std::vector<std::string>{"AWS_ACCESS_KEY_ID=AKIDQUEUESTATS",
                               "AWS_SECRET_ACCESS_KEY=queue-stats-test-secret"},
      "queue-stats-2", std::vector<std::string>{}, grpcPort);
  EXPECT_TRUE(waitUntil(
      [&] {
        return external(*a, "kafka_consumergroup_lag_sum", "consumergroup%3Dorders-consumer")
                   .body.find("\"value\":\"0\"") != std::string::npos;
      },
      40s))
      << external(*a, "kafka_consumergroup_lag_sum").body << a->process().log();
  std::string metrics = httpsGet(a->port(), "/metrics").body;
  EXPECT_GE(seriesValue(metrics, "metrics_adapter_queue_stats_feed_reconnects_total").value_or(0),
            1)
      << metrics;
  EXPECT_EQ(seriesValue(metrics, "metrics_adapter_queue_stats_feed_connected"), 1) << metrics;
  EXPECT_TRUE(a->process().waitForLog("queue-stats feed disconnected; reconnecting", 1s));
}

TEST_F(QueueFeed, NothingBeforeTheFirstSnapshotAndMutualTls) {
  TempDir dir;
  // Nobody listens yet: 503 naming the address, not an empty answer.
  int port = freePort();
  auto a = adapter(dir, "127.0.0.1:" + std::to_string(port));
  HttpsResult r = external(*a, "kafka_consumergroup_lag_sum");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("no data from queue-stats at 127.0.0.1:" + std::to_string(port) + " yet"),
            std::string::npos)
      << r.body;

  KafkaMock kafka(dir, 1);
  seedOrders(kafka);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "orders-consumer"));
  TestCa ca("feed CA");
  CertOptions so("queue-stats");
  so.ipAddresses = {"127.0.0.1"};
  so.serverAuth = true;
  so.clientAuth = false;
  KeyPair server = ca.issue(so), client = ca.issue(CertOptions("metrics-adapter"));
  writeFile(dir.file("ca.pem"), ca.pem());
  writeFile(dir.file("server.pem"), server.certPem);
  writeFile(dir.file("server.key"), server.keyPem);
  writeFile(dir.file("client.pem"), client.certPem);
  writeFile(dir.file("client.key"), client.keyPem);
  QueueStatsProcess qs(
      dir, dir.file("qs.yaml"), {}, "queue-stats-tls",
      {"--grpc-tls-cert-file", dir.file("server.pem"), "--grpc-tls-private-key-file",
       dir.file("server.key"), "--grpc-client-ca-file", dir.file("ca.pem")});
  auto trusted = adapter(dir, qs.grpcAddress(),
                         {"--queue-stats-ca-file=" + dir.file("ca.pem"),
                          "--queue-stats-client-cert=" + dir.file("client.pem"),
                          "--queue-stats-client-key=" + dir.file("client.key")},
                         "adapter-mtls");
  EXPECT_TRUE(waitUntil([&] {
    return external(*trusted, "kafka_consumergroup_lag_sum").body.find("\"value\":\"60\"") !=
           std::string::npos;
  })) << external(*trusted, "kafka_consumergroup_lag_sum").body
      << trusted->process().log();
  // Without a client certificate queue-stats refuses the stream.
  auto anonymous = adapter(dir, qs.grpcAddress(), {"--queue-stats-ca-file=" + dir.file("ca.pem")},
                           "adapter-no-cert");
  EXPECT_TRUE(anonymous->process().waitForLog("queue-stats feed disconnected", 20s))
      << anonymous->process().log();
  EXPECT_EQ(external(*anonymous, "kafka_consumergroup_lag_sum").status, 503);
}

TEST_F(QueueFeed, TheInstalledLayoutLoadsTheFeedModule) {
  // `cmake --install` puts the feed module in <prefix>/lib/metrics-adapter/,
  // not next to the binary: the installed adapter must still find it.
  TempDir dir;
  const std::string prefix = dir.file("prefix");
  ChildProcess install({"cmake", "--install", MA_BUILD_DIR, "--prefix", prefix},
                       dir.file("install.log"));
  ASSERT_EQ(install.waitExit(120s), 0) << install.log();
  ASSERT_TRUE(
      std::filesystem::exists(prefix + "/lib/metrics-adapter/metrics-adapter-queue-feed.so"))
      << install.log();
  KafkaMock kafka(dir, 1);
  seedOrders(kafka);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "orders-consumer"));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"), {}, "queue-stats", {}, 0,
                       prefix + "/bin/queue-stats");
  writeFile(dir.file("rules.yaml"), "externalRules: []\n");
  AdapterProcess a(
      {"--standalone", "--config=" + dir.file("rules.yaml"),
       "--prometheus-url=" + prometheus_.url(), "--queue-stats-address=" + qs.grpcAddress()},
      dir, "installed-adapter", prefix + "/bin/metrics-adapter");
  HttpsResult r;
  EXPECT_TRUE(waitUntil([&] {
    r = external(a, "kafka_consumergroup_lag_sum", "consumergroup%3Dorders-consumer");
    return r.status == 200 && r.body.find("\"value\":\"60\"") != std::string::npos;
  })) << r.status
      << " " << r.body << a.process().log();
}

namespace {

using Clock = std::chrono::steady_clock;

int64_t millisSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// A server stream with the context it needs kept beside it.
template <class Msg>
struct OpenStream {
  std::unique_ptr<grpc::ClientContext> ctx = std::make_unique<grpc::ClientContext>();
  std::unique_ptr<grpc::ClientReader<Msg>> reader;
};

OpenStream<queuestats::v1::Snapshot> watch(queuestats::v1::QueueStats::Stub& feed,
                                           const std::string& topic) {
  OpenStream<queuestats::v1::Snapshot> s;
  s.ctx->set_deadline(std::chrono::system_clock::now() + 30s);
  queuestats::v1::Filter f;
  f.set_topic(topic);
  s.reader = feed.Watch(s.ctx.get(), f);
  return s;
}

OpenStream<externalscaler::IsActiveResponse> streamIsActive(
    externalscaler::ExternalScaler::Stub& scaler, const std::map<std::string, std::string>& md) {
  OpenStream<externalscaler::IsActiveResponse> s;
  s.ctx->set_deadline(std::chrono::system_clock::now() + 30s);
  s.reader = scaler.StreamIsActive(s.ctx.get(), ref(md));
  return s;
}

std::unique_ptr<queuestats::v1::QueueStats::Stub> feedClient(const std::string& address) {
  return queuestats::v1::QueueStats::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

// Reads until the stream ends; returns its status.
template <class Msg>
grpc::Status drain(OpenStream<Msg>& s) {
  Msg m;
  while (s.reader->Read(&m)) {
  }
  return s.reader->Finish();
}

}  // namespace

TEST_F(QueueFeed, WatchPushesEachSnapshotAsItIsPublished) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  seedOrders(kafka);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "quiet-consumer"));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  auto feed = feedClient(qs.grpcAddress());
  auto s = watch(*feed, "quiet");
  queuestats::v1::Snapshot snap;
  ASSERT_TRUE(s.reader->Read(&snap)) << qs.process().log();
  ASSERT_EQ(snap.kafka_size(), 1) << snap.DebugString();
  // After the first (the snapshot current when Watch began), every message
  // is sent as its collection is published: its age is the push's delay. A
  // 1 s poll would make it anything up to 1 s.
  uint64_t version = snap.version();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(s.reader->Read(&snap)) << qs.process().log();
    ASSERT_EQ(snap.kafka_size(), 1) << snap.DebugString();
    EXPECT_GT(snap.version(), version) << "only a new snapshot is sent";
    EXPECT_FALSE(snap.kafka(0).stale());
    EXPECT_GE(snap.kafka(0).age_ms(), 0);
    EXPECT_LT(snap.kafka(0).age_ms(), 300) << "message " << i << ": " << snap.DebugString();
    version = snap.version();
  }
  // New lag arrives within one interval (1 s) and a cycle, not a poll later.
  auto produced = Clock::now();
  kafka.cmd("produce quiet 0 7");
  bool seen = false;
  while (!seen && s.reader->Read(&snap))
    seen = snap.kafka_size() == 1 && snap.kafka(0).lag_sum() == 7;
  ASSERT_TRUE(seen);
  EXPECT_LT(millisSince(produced), 1700);
  s.ctx->TryCancel();
  s.reader->Finish();
}

TEST_F(QueueFeed, StreamsBeyondGrpcMaxStreamsAreRefused) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  seedOrders(kafka);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "quiet-consumer"));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"), {}, "queue-stats", {"--grpc-max-streams=2"});
  auto feed = feedClient(qs.grpcAddress());
  auto scaler = scalerClient(qs.grpcAddress());
  queuestats::v1::Snapshot snap;
  auto first = watch(*feed, "quiet");
  ASSERT_TRUE(first.reader->Read(&snap)) << qs.process().log();
  auto second = watch(*feed, "quiet");
  ASSERT_TRUE(second.reader->Read(&snap)) << qs.process().log();

  // Both kinds of stream count; the third is refused at once.
  auto started = Clock::now();
  auto third = streamIsActive(*scaler, {{"consumerGroup", "quiet-consumer"}, {"topic", "quiet"}});
  externalscaler::IsActiveResponse r;
  EXPECT_FALSE(third.reader->Read(&r));
  grpc::Status st = third.reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("--grpc-max-streams"), std::string::npos) << st.error_message();
  EXPECT_LT(millisSince(started), 2000);
  // Unary calls are not streams: still answered.
  EXPECT_TRUE(call([&](grpc::ClientContext& ctx) {
                queuestats::v1::Filter f;
                return feed->List(&ctx, f, &snap);
              }).ok());

  // A closed stream frees its place.
  first.ctx->TryCancel();
  first.reader->Finish();
  EXPECT_TRUE(waitUntil(
      [&] {
        auto again =
            streamIsActive(*scaler, {{"consumerGroup", "quiet-consumer"}, {"topic", "quiet"}});
        bool admitted = again.reader->Read(&r);
        again.ctx->TryCancel();
        again.reader->Finish();
        return admitted && !r.result();
      },
      5s));
  second.ctx->TryCancel();
  second.reader->Finish();
}

TEST_F(QueueFeed, SigtermClosesOpenStreamsWithAStatus) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  seedOrders(kafka);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "quiet-consumer"));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  auto feed = feedClient(qs.grpcAddress());
  auto scaler = scalerClient(qs.grpcAddress());
  auto feedStream = watch(*feed, "quiet");
  queuestats::v1::Snapshot snap;
  ASSERT_TRUE(feedStream.reader->Read(&snap)) << qs.process().log();
  auto active = streamIsActive(*scaler, {{"consumerGroup", "quiet-consumer"}, {"topic", "quiet"}});
  externalscaler::IsActiveResponse r;
  ASSERT_TRUE(active.reader->Read(&r)) << qs.process().log();

  auto signalled = Clock::now();
  qs.process().signal(SIGTERM);
  grpc::Status fs = drain(feedStream);
  EXPECT_LT(millisSince(signalled), 1500) << "streams are closed, not waited for";
  grpc::Status as = drain(active);
  for (const auto& s : {fs, as}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_EQ(s.error_message(), "queue-stats is shutting down") << "a status, not a dropped link";
  }
  EXPECT_EQ(qs.process().waitExit(5s), 0) << qs.process().log();
}

TEST_F(KedaScaler, ServerCertificateAndClientCaReloadWithoutRestart) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  writeFile(dir.file("qs.yaml"), kafkaConfig(kafka, "orders-consumer"));
  auto serverCert = [](const TestCa& ca) {
    CertOptions o("queue-stats");
    o.ipAddresses = {"127.0.0.1"};
    o.serverAuth = true;
    o.clientAuth = false;
    return ca.issue(o);
  };
  auto install = [&](const TestCa& ca) {
    KeyPair server = serverCert(ca);
    writeFile(dir.file("server.key"), server.keyPem);
    writeFile(dir.file("server.pem"), server.certPem);
    writeFile(dir.file("ca.pem"), ca.pem());
  };
  TestCa oldCa("old CA"), newCa("new CA");
  KeyPair oldClient = oldCa.issue(CertOptions("keda-operator"));
  KeyPair newClient = newCa.issue(CertOptions("keda-operator"));
  install(oldCa);
  QueueStatsProcess qs(
      dir, dir.file("qs.yaml"), {}, "queue-stats",
      {"--grpc-tls-cert-file", dir.file("server.pem"), "--grpc-tls-private-key-file",
       dir.file("server.key"), "--grpc-client-ca-file", dir.file("ca.pem")});
  // GetMetricSpec needs no data; each call is a new connection (its own
  // subchannel pool), so it sees the certificates served now.
  auto specWith = [&](const TestCa& trust, const KeyPair* client) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = trust.pem();
    if (client) {
      tls.pem_cert_chain = client->certPem;
      tls.pem_private_key = client->keyPem;
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto stub = externalscaler::ExternalScaler::NewStub(
        grpc::CreateCustomChannel(qs.grpcAddress(), grpc::SslCredentials(tls), args));
    externalscaler::GetMetricSpecResponse spec;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 3s);
    return stub->GetMetricSpec(&ctx, ref({{"consumerGroup", "orders-consumer"}}), &spec);
  };
  grpc::Status st = specWith(oldCa, &oldClient);
  ASSERT_TRUE(st.ok()) << st.error_message() << qs.process().log();
  EXPECT_FALSE(specWith(newCa, &newClient).ok()) << "the new CA is not trusted yet";

  auto replaced = Clock::now();
  install(newCa);
  ASSERT_TRUE(waitUntil([&] { return specWith(newCa, &newClient).ok(); }, 10s))
      << specWith(newCa, &newClient).error_message() << qs.process().log();
  EXPECT_LT(millisSince(replaced), 8000);
  EXPECT_FALSE(specWith(oldCa, &oldClient).ok()) << "the old server certificate is gone";
  EXPECT_FALSE(specWith(newCa, &oldClient).ok()) << "the old CA's clients are refused";
  EXPECT_FALSE(specWith(newCa, nullptr).ok()) << "a client certificate is still required";
  EXPECT_TRUE(qs.process().running());
}

namespace {
// A Kubernetes quantity as the adapter writes values ("118", "118500m").
double quantity(const std::string& q) {
  return q.back() == 'm' ? std::stod(q.substr(0, q.size() - 1)) / 1000 : std::stod(q);
}
}  // namespace

TEST_F(QueueFeed, LagSecondsAndStaleValuesThroughTheAdapter) {
  TempDir dir;
  KafkaMock kafka(dir, 1);
  // 10 messages 1 s apart, the first 120 s ago; committed at 2: the oldest
  // unread message is 118 s old.
  const int64_t first = unixMillis() - 120000;
  kafka.cmd("topic orders 1");
  kafka.cmd("produce_ts orders 0 10 " + std::to_string(first) + " 1000");
  kafka.cmd("commit g orders 0 2");
  writeFile(dir.file("qs.yaml"), "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" +
                                     kafka.bootstrap() + "\"\n    groups: [g]\n");
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  // A long max age: what makes the adapter refuse below is queue-stats'
  // own stale mark, not the adapter's clock.
  auto a = adapter(dir, qs.grpcAddress(), {"--queue-stats-max-age=10m"});
  json list = json::parse(httpsGet(a->port(), "/apis/external.metrics.k8s.io/v1beta1").body);
  std::set<std::string> names;
  for (const auto& r : list["resources"]) names.insert(r["name"].get<std::string>());
  EXPECT_TRUE(names.count("kafka_consumergroup_lag_seconds_max")) << list.dump();
  EXPECT_TRUE(names.count("kafka_consumergroup_lag_seconds")) << list.dump();
  HttpsResult r;
  ASSERT_TRUE(waitUntil([&] {
    r = external(*a, "kafka_consumergroup_lag_seconds_max", "consumergroup%3Dg");
    return r.status == 200 && r.body.find("\"items\":[{") != std::string::npos;
  })) << r.status
      << " " << r.body << qs.process().log();
  json j = json::parse(r.body);
  ASSERT_EQ(j["items"].size(), 1u) << j.dump();
  EXPECT_EQ(j["items"][0]["metricLabels"],
            json({{"cluster", "main"}, {"consumergroup", "g"}, {"topic", "orders"}}));
  double expected = (unixMillis() - (first + 2000)) / 1000.0;
  double got = quantity(j["items"][0]["value"].get<std::string>());
  EXPECT_LE(got, expected + 0.2) << j.dump();
  EXPECT_GE(got, expected - 2.5) << j.dump();

  // The broker dies: queue-stats marks the values stale within its
  // staleAfter (2 intervals) and the adapter answers 503 saying so.
  kafka.cmd("down 1");
  auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitUntil(
      [&] {
        return external(*a, "kafka_consumergroup_lag_seconds_max", "consumergroup%3Dg").status ==
               503;
      },
      10s));
  EXPECT_LE(std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count(), 4.0);
  r = external(*a, "kafka_consumergroup_lag_sum", "consumergroup%3Dg");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("is stale"), std::string::npos) << r.body;
}
