// feed-bench: queue metrics reaching the HPA through queue-stats' gRPC
// feed vs. through a Prometheus scrape (the way prometheus-adapter gets
// them), with queue-stats' own List RPC as the baseline.
//  1. Freshness: from a change in Kafka (messages produced) to the new lag
//     in the external metrics API, feed vs. Prometheus (15 s scrapes).
//  2. Throughput of the external metrics request, feed vs. Prometheus
//     rule, and the same PromQL straight to Prometheus.
//  3. Scale: a feed of 10,000 partitions in 100 groups: snapshot size,
//     adapter memory, latency of a 100-partition request.
// Prints a Markdown table.  feed-bench [--trials N] [--seconds S]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_support.h"
#include "queue_peers.h"
#include "queue_stats.grpc.pb.h"
#include "queue_stats_process.h"
#include "test_support.h"

using nlohmann::json;
using namespace testsupport;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// The summed value an external metrics answer holds (-1: none).
double externalSum(int port, const std::string& path) {
  try {
    HttpsResult r = httpsGet(port, path);
    if (r.status != 200) return -1;
    json j = json::parse(r.body);
    if (j["items"].empty()) return -1;
    double s = 0;
    for (const auto& item : j["items"]) {
      std::string q = item["value"];
      s += q.back() == 'm' ? std::stod(q.substr(0, q.size() - 1)) / 1000 : std::stod(q);
    }
    return s;
  } catch (const std::exception&) {
    return -1;
  }
}

int64_t listLag(queuestats::v1::QueueStats::Stub& stub, const std::string& group) {
  queuestats::v1::Filter f;
  f.set_group(group);
  queuestats::v1::Snapshot s;
  grpc::ClientContext ctx;
  if (!stub.List(&ctx, f, &s).ok() || s.kafka_size() == 0) return -1;
  int64_t lag = 0;
  for (const auto& t : s.kafka()) lag += t.lag_sum();
  return lag;
}

// Prometheus scraping queue-stats' /metrics.
std::unique_ptr<ChildProcess> prometheus(const TempDir& dir, int qsMetricsPort, int port,
                                         const std::string& interval) {
  writeFile(dir.file("prometheus.yml"), "global: {scrape_interval: " + interval +
                                            "}\nscrape_configs:\n- job_name: queue-stats\n"
                                            "  static_configs: [{targets: ['127.0.0.1:" +
                                            std::to_string(qsMetricsPort) + "']}]\n");
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{"prometheus", "--config.file=" + dir.file("prometheus.yml"),
                               "--storage.tsdb.path=" + dir.file("prom-data"),
                               "--web.listen-address=127.0.0.1:" + std::to_string(port),
                               "--log.level=warn"},
      dir.file("prometheus.log"));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 6;
  std::string seconds = "5";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--trials") trials = std::stoi(argv[i + 1]);
    if (std::string(argv[i]) == "--seconds") seconds = argv[i + 1];
  }
  TempDir dir;
  // 3. Scale, first (filling the mock cluster wants the cores to itself):
  // 10,000 partitions in 100 groups, served from the feed alone.
  FakeBackend idle([](const FakeRequest&) {
    return FakeResponse{200, R"({"status":"success","data":[]})", 0ms};
  });
  writeFile(dir.file("feed-only.yaml"), "externalRules: []\n");
  size_t bytes = 0;
  double firstServed = 0, group7 = 0;
  long bigRss = 0, bigHwm = 0;
  json bigReq;
  {
    TempDir bigDir;  // its own logs: the mock's log file has a fixed name
    KafkaMock big(bigDir, 3);
    big.cmd("fill 100 100 100 2");
    std::string groups;
    for (int g = 0; g < 100; ++g)
      groups += (g ? ", " : "") + std::string("group-") + std::to_string(g);
    writeFile(dir.file("big.yaml"),
              "interval: 5s\nkafka:\n  - name: bench\n    bootstrapServers: \"" + big.bootstrap() +
                  "\"\n    groups: [" + groups + "]\n    timeout: 20s\n");
    QueueStatsProcess bigQs(dir, dir.file("big.yaml"), {}, "queue-stats-big");
    AdapterProcess bigAdapter(
        {"--standalone", "--config=" + dir.file("feed-only.yaml"), "--prometheus-url=" + idle.url(),
         "--queue-stats-address=" + bigQs.grpcAddress()},
        dir, "adapter-big");
    bigAdapter.waitReady(60s);
    const std::string bigPath =
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/"
        "kafka_consumergroup_lag?labelSelector=consumergroup%3Dgroup-7";
    auto start = Clock::now();
    while (Clock::now() - start < 120s && externalSum(bigAdapter.port(), bigPath) < 0)
      std::this_thread::sleep_for(200ms);
    firstServed = std::chrono::duration<double>(Clock::now() - start).count();
    {
      auto bigStub = queuestats::v1::QueueStats::NewStub(
          grpc::CreateChannel(bigQs.grpcAddress(), grpc::InsecureChannelCredentials()));
      queuestats::v1::Snapshot s;
      grpc::ClientContext ctx;
      bigStub->List(&ctx, queuestats::v1::Filter(), &s);
      bytes = s.ByteSizeLong();
    }
    group7 = externalSum(bigAdapter.port(), bigPath);
    std::this_thread::sleep_for(12s);  // a few more snapshots
    bigRss = bench::statusKb(bigAdapter.process().pid(), "VmRSS:");
    bigHwm = bench::statusKb(bigAdapter.process().pid(), "VmHWM:");
    bigReq =
        bench::loadgen({"--url", "https://127.0.0.1:" + std::to_string(bigAdapter.port()) + bigPath,
                        "--concurrency", "1", "--seconds", seconds},
                       dir);
  }

  KafkaMock kafka(dir, 1);
  kafka.cmd("topic orders 6");
  for (int p = 0; p < 6; ++p) {
    kafka.cmd("produce orders " + std::to_string(p) + " 100");
    kafka.cmd("commit orders-consumer orders " + std::to_string(p) + " 100");
  }
  writeFile(dir.file("qs.yaml"), "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" +
                                     kafka.bootstrap() + "\"\n    groups: [orders-consumer]\n");
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  int promPort = freePort();
  auto prom = prometheus(dir, qs.metricsPort(), promPort, "15s");
  std::string promUrl = "http://127.0.0.1:" + std::to_string(promPort);
  // Both adapters have the Prometheus rule; the first also has the feed, which wins.
  writeFile(dir.file("rules.yaml"),
            "externalRules:\n- seriesQuery: 'kafka_consumergroup_lag_sum{consumergroup!=\"\"}'\n  "
            "resources: {namespaced: false}\n"
            "  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (consumergroup, topic)\n");
  auto waitSeries = [&] {
    for (int i = 0; i < 600; ++i) {
      try {
        auto r =
            httpRequestPlain(promPort, "GET", "/api/v1/query?query=kafka_consumergroup_lag_sum");
        if (r.body.find("orders-consumer") != std::string::npos) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  if (!waitSeries()) {
    std::fprintf(stderr, "Prometheus never scraped queue-stats: %s\n", prom->log().c_str());
    return 1;
  }
  AdapterProcess viaFeed(
      {"--standalone", "--config=" + dir.file("rules.yaml"), "--prometheus-url=" + promUrl,
       "--queue-stats-address=" + qs.grpcAddress()},
      dir, "adapter-feed");
  AdapterProcess viaProm(
      {"--standalone", "--config=" + dir.file("rules.yaml"), "--prometheus-url=" + promUrl}, dir,
      "adapter-prometheus");
  if (!viaFeed.waitReady(60s) || !viaProm.waitReady(60s)) {
    std::fprintf(stderr, "adapters not ready\n");
    return 1;
  }
  auto stub = queuestats::v1::QueueStats::NewStub(
      grpc::CreateChannel(qs.grpcAddress(), grpc::InsecureChannelCredentials()));
  const std::string path =
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/"
      "kafka_consumergroup_lag_sum?labelSelector=consumergroup%3Dorders-consumer";

  // 1. Freshness.
  std::vector<double> feedS, promS, listS;
  int64_t lag = 0;
  for (int t = 0; t < trials; ++t) {
    // Start each trial at a random point of the scrape and collection cycles.
    std::this_thread::sleep_for(std::chrono::milliseconds(500 + 1700 * t % 4100));
    lag += 50;
    kafka.cmd("produce orders " + std::to_string(t % 6) + " 50");
    auto t0 = Clock::now();
    double f = -1, p = -1, l = -1;
    while (Clock::now() - t0 < 60s && (f < 0 || p < 0 || l < 0)) {
      double since = std::chrono::duration<double>(Clock::now() - t0).count();
      if (l < 0 && listLag(*stub, "orders-consumer") == lag) l = since;
      if (f < 0 && externalSum(viaFeed.port(), path) == static_cast<double>(lag)) f = since;
      if (p < 0 && externalSum(viaProm.port(), path) == static_cast<double>(lag)) p = since;
      std::this_thread::sleep_for(20ms);
    }
    listS.push_back(l);
    feedS.push_back(f);
    promS.push_back(p);
  }

  // 2. Throughput.
  std::string promql =
      "sum(kafka_consumergroup_lag_sum{consumergroup=\"orders-consumer\"}) by (consumergroup, "
      "topic)";
  std::string encoded;
  for (char c : promql) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      encoded += c;
    else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", static_cast<unsigned char>(c));
      encoded += b;
    }
  }
  json direct = bench::loadgen({"--url", promUrl + "/api/v1/query?query=" + encoded,
                                "--concurrency", "8", "--seconds", seconds},
                               dir);
  json feed = bench::loadgen({"--url", "https://127.0.0.1:" + std::to_string(viaFeed.port()) + path,
                              "--concurrency", "8", "--seconds", seconds},
                             dir);
  json rule = bench::loadgen({"--url", "https://127.0.0.1:" + std::to_string(viaProm.port()) + path,
                              "--concurrency", "8", "--seconds", seconds},
                             dir);
  long feedRss = bench::statusKb(viaFeed.process().pid(), "VmRSS:"),
       promRss = bench::statusKb(viaProm.process().pid(), "VmRSS:");

  std::printf("## queue-stats feed (%u cores)\n\n", std::thread::hardware_concurrency());
  std::printf(
      "### Freshness: Kafka change to the external metrics API (median of %d; queue-stats cycle 1 "
      "s, Prometheus scrape 15 s)\n\n",
      trials);
  std::printf("| path | median s | worst s |\n|---|---|---|\n");
  std::printf("| baseline: queue-stats List RPC | %.2f | %.2f |\n", median(listS),
              *std::max_element(listS.begin(), listS.end()));
  std::printf("| adapter, gRPC feed | %.2f | %.2f |\n", median(feedS),
              *std::max_element(feedS.begin(), feedS.end()));
  std::printf("| adapter, Prometheus rule over the scraped series | %.2f | %.2f |\n\n",
              median(promS), *std::max_element(promS.begin(), promS.end()));
  std::printf("### Throughput: kafka_consumergroup_lag_sum for one group, concurrency 8, %s s\n\n",
              seconds.c_str());
  std::printf("| path | req/s | p50 ms | p99 ms |\n|---|---|---|---|\n");
  std::printf(
      "| baseline: the rule's PromQL straight to Prometheus (HTTP) | %.0f | %.2f | %.2f |\n",
      direct["rps"].get<double>(), direct["p50_ms"].get<double>(), direct["p99_ms"].get<double>());
  std::printf("| adapter, gRPC feed (HTTPS) | %.0f | %.2f | %.2f |\n", feed["rps"].get<double>(),
              feed["p50_ms"].get<double>(), feed["p99_ms"].get<double>());
  std::printf("| adapter, Prometheus rule (HTTPS) | %.0f | %.2f | %.2f |\n\n",
              rule["rps"].get<double>(), rule["p50_ms"].get<double>(),
              rule["p99_ms"].get<double>());
  std::printf("Adapter RSS after the runs: with the feed %.1f MB, without %.1f MB.\n\n",
              feedRss / 1024.0, promRss / 1024.0);
  std::printf("### Scale: a feed of 10,000 partitions in 100 groups (mock cluster, 3 brokers)\n\n");
  std::printf("| what | value |\n|---|---|\n");
  std::printf("| snapshot size (protobuf) | %.2f MB |\n", bytes / 1048576.0);
  std::printf(
      "| from adapter start to the first answer (includes queue-stats' first cycle) | %.1f s |\n",
      firstServed);
  std::printf("| group-7's lag summed over its 100 partitions (100 expected) | %.0f |\n", group7);
  std::printf("| adapter RSS / peak | %.1f MB / %.1f MB |\n", bigRss / 1024.0, bigHwm / 1024.0);
  std::printf(
      "| kafka_consumergroup_lag for one group (100 series), concurrency 1: req/s, p50, p99 | "
      "%.0f, %.2f ms, %.2f ms |\n",
      bigReq["rps"].get<double>(), bigReq["p50_ms"].get<double>(), bigReq["p99_ms"].get<double>());
  return 0;
}
