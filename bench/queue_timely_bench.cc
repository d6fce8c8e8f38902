// queue-timely-bench: how quickly and how exactly queue-stats reacts, on
// librdkafka's mock cluster (interval 1 s).
//  1. A broker dies: from `down` to its cluster's lag withdrawn from
//     /metrics and its collection error counted.
//  2. SIGTERM while a request to a dead broker hangs (timeout 10 s): from
//     the signal to the exit.
//  3. KEDA GetMetrics for a healthy cluster while another configured
//     cluster is dead (its requests hang, timeout 10 s), against the same
//     calls with both clusters healthy; every answer checked.
//  4. Lag in seconds against messages with known CreateTimes, measured at
//     the collection time (the group's last-success timestamp).
// Prints a Markdown table; exits non-zero when a check fails.
//   queue-timely-bench [--runs N] [--calls N]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <random>
#include <thread>

#include "externalscaler.grpc.pb.h"
#include "queue_peers.h"
#include "queue_stats_process.h"
#include "test_support.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t unixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Spread {
  double min = 0, median = 0, max = 0;
};
Spread spread(std::vector<double> v) {
  if (v.empty()) return {-1, -1, -1};
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2], v.back()};
}
double percentile(std::vector<double> v, double q) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

bool hasClusterSeries(const std::string& scrape, const std::string& cluster) {
  return scrape.find("{cluster=\"" + cluster + "\"") != std::string::npos;
}

std::string errorsSeries(const std::string& target) {
  return "queue_stats_collection_errors_total{source=\"kafka\",target=\"" + target + "\"}";
}

// Until `pred` holds on a scrape (polled every 10 ms); false on timeout.
bool pollMetrics(const QueueStatsProcess& qs, const std::function<bool(const std::string&)>& pred,
                 std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred(qs.metrics())) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// One topic `orders`, 4 partitions of 10 messages, g1 committed at 3 on
// each: lag 28.
void seed(KafkaMock& k) {
  k.cmd("topic orders 4");
  for (int p = 0; p < 4; ++p) {
    k.cmd("produce orders " + std::to_string(p) + " 10");
    k.cmd("commit g1 orders " + std::to_string(p) + " 3");
  }
}
constexpr int64_t kSeededLag = 28;

std::string cluster(const std::string& name, const KafkaMock& k, const std::string& extra = "") {
  return "  - name: " + name + "\n    bootstrapServers: \"" + k.bootstrap() +
         "\"\n    groups: [g1]\n" + extra;
}

struct Failures {
  int count = 0;
  void add(const std::string& what) {
    ++count;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
};

// 1. Broker death to withdrawal and error count, `runs` times at random
// points of the cycle.
struct DeathRun {
  double withdrawn = -1, counted = -1, recovered = -1;
};
std::vector<DeathRun> brokerDeath(int runs, Failures& f) {
  TempDir dir, deadDir, healthyDir;
  KafkaMock dead(deadDir, 1), healthy(healthyDir, 1);
  seed(dead);
  seed(healthy);
  writeFile(dir.file("qs.yaml"),
            "interval: 1s\nkafka:\n" + cluster("dead", dead) + cluster("healthy", healthy));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  std::mt19937 rng(7);
  std::vector<DeathRun> out;
  for (int r = 0; r < runs; ++r) {
    DeathRun d;
    auto upAt = Clock::now();
    if (!pollMetrics(
            qs, [](const std::string& m) { return hasClusterSeries(m, "dead"); }, 90s)) {
      f.add("the dead cluster's series never came back: " + qs.process().log());
      break;
    }
    if (r > 0) d.recovered = since(upAt);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000 + rng() % 1000));
    double before = seriesValue(qs.metrics(), errorsSeries("dead")).value_or(0);
    auto killed = Clock::now();
    dead.cmd("down 1");
    pollMetrics(
        qs,
        [&](const std::string& m) {
          if (d.withdrawn < 0 && !hasClusterSeries(m, "dead")) d.withdrawn = since(killed);
          if (d.counted < 0 && seriesValue(m, errorsSeries("dead")).value_or(0) > before)
            d.counted = since(killed);
          return d.withdrawn >= 0 && d.counted >= 0;
        },
        30s);
    if (d.withdrawn < 0 || d.counted < 0)
      f.add("run " + std::to_string(r) + ": not withdrawn/counted");
    std::string m = qs.metrics();
    if (!hasClusterSeries(m, "healthy")) f.add("the healthy cluster's series went too");
    out.push_back(d);
    dead.cmd("up 1");
  }
  return out;
}

// 2. SIGTERM while a request to the dead broker hangs.
struct StopRun {
  double seconds = -1;
  int exitCode = -1;
  double errorsAtSignal = -1;  // 0: the cycle after the death had not ended
  bool abandoned = false;      // it logged that a collection was in progress
};
std::vector<StopRun> sigterm(int runs, Failures& f) {
  TempDir dir, mockDir;
  KafkaMock kafka(mockDir, 1);
  seed(kafka);
  writeFile(dir.file("qs.yaml"),
            "interval: 1s\nkafka:\n" + cluster("main", kafka, "    timeout: 10s\n"));
  std::mt19937 rng(11);
  std::vector<StopRun> out;
  for (int r = 0; r < runs; ++r) {
    StopRun s;
    QueueStatsProcess qs(dir, dir.file("qs.yaml"), {}, "queue-stats-stop-" + std::to_string(r));
    if (!pollMetrics(
            qs, [](const std::string& m) { return hasClusterSeries(m, "main"); }, 90s)) {
      f.add("no series before SIGTERM run " + std::to_string(r));
      break;
    }
    kafka.cmd("down 1");
    // At least one cycle starts after the death: it now waits in a request.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500 + rng() % 1000));
    s.errorsAtSignal = seriesValue(qs.metrics(), errorsSeries("main")).value_or(0);
    auto sent = Clock::now();
    qs.process().signal(SIGTERM);
    s.exitCode = qs.process().waitExit(15s);
    s.seconds = since(sent);
    s.abandoned =
        qs.process().log().find("a collection in progress was abandoned") != std::string::npos;
    if (s.exitCode != 0)
      f.add("SIGTERM run " + std::to_string(r) + ": exit code " + std::to_string(s.exitCode) +
            "\n" + qs.process().log());
    out.push_back(s);
    kafka.cmd("up 1");
  }
  return out;
}

// 3. GetMetrics latency, every answer checked.
struct CallStats {
  std::vector<double> ms;
  int failures = 0;
  std::string firstFailure;
};
CallStats getMetrics(externalscaler::ExternalScaler::Stub& stub, int calls, int64_t expected) {
  externalscaler::GetMetricsRequest req;
  auto* ref = req.mutable_scaledobjectref();
  ref->set_name("consumer");
  ref->set_namespace_("default");
  auto& md = *ref->mutable_scalermetadata();
  md["consumerGroup"] = "g1";
  md["cluster"] = "healthy";
  md["topic"] = "orders";
  md["lagThreshold"] = "10";
  req.set_metricname("s0-kafka-orders");
  CallStats s;
  s.ms.reserve(static_cast<size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    externalscaler::GetMetricsResponse res;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    auto t0 = Clock::now();
    grpc::Status st = stub.GetMetrics(&ctx, req, &res);
    s.ms.push_back(since(t0) * 1000);
    bool ok = st.ok() && res.metricvalues_size() == 1 &&
              res.metricvalues(0).metricvalue() == expected &&
              res.metricvalues(0).metricvaluefloat() == static_cast<double>(expected);
    if (!ok) {
      if (s.failures++ == 0) s.firstFailure = st.ok() ? res.DebugString() : st.error_message();
    }
  }
  return s;
}

struct ScalerRun {
  CallStats healthy, oneDead;
  std::string deadAnswer;  // what GetMetrics says for the dead cluster
};
ScalerRun scalerLatency(int calls, Failures& f) {
  TempDir dir, deadDir, healthyDir;
  KafkaMock dead(deadDir, 1), healthy(healthyDir, 1);
  seed(dead);
  seed(healthy);
  writeFile(dir.file("qs.yaml"), "interval: 1s\nkafka:\n" +
                                     cluster("dead", dead, "    timeout: 10s\n") +
                                     cluster("healthy", healthy));
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  ScalerRun out;
  if (!pollMetrics(
          qs,
          [](const std::string& m) {
            return hasClusterSeries(m, "dead") && hasClusterSeries(m, "healthy");
          },
          60s)) {
    f.add("GetMetrics: clusters never measured");
    return out;
  }
  auto stub = externalscaler::ExternalScaler::NewStub(
      grpc::CreateChannel(qs.grpcAddress(), grpc::InsecureChannelCredentials()));
  getMetrics(*stub, 200, kSeededLag);  // warm-up: connection, caches
  out.healthy = getMetrics(*stub, calls, kSeededLag);
  dead.cmd("down 1");
  if (!pollMetrics(
          qs, [](const std::string& m) { return !hasClusterSeries(m, "dead"); }, 30s))
    f.add("GetMetrics: the dead cluster's series stayed");
  {
    externalscaler::GetMetricsRequest req;
    auto& md = *req.mutable_scaledobjectref()->mutable_scalermetadata();
    md["consumerGroup"] = "g1";
    md["cluster"] = "dead";
    md["topic"] = "orders";
    externalscaler::GetMetricsResponse res;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    grpc::Status st = stub->GetMetrics(&ctx, req, &res);
    out.deadAnswer = st.ok() ? "OK (unexpected)" : "code " + std::to_string(st.error_code());
    if (st.ok()) f.add("GetMetrics for the dead cluster answered OK");
  }
  out.oneDead = getMetrics(*stub, calls, kSeededLag);
  if (out.healthy.failures)
    f.add(std::to_string(out.healthy.failures) +
          " GetMetrics calls failed (both healthy): " + out.healthy.firstFailure);
  if (out.oneDead.failures)
    f.add(std::to_string(out.oneDead.failures) +
          " GetMetrics calls failed (one dead): " + out.oneDead.firstFailure);
  return out;
}

// 4. Lag seconds against known CreateTimes.
struct AgeRun {
  double maxError = -1;        // against the collection time
  double maxScrapeError = -1;  // against the scrape time, for comparison
  int samples = 0;
};
AgeRun lagSeconds(int scrapes, Failures& f) {
  TempDir dir, mockDir;
  KafkaMock kafka(mockDir, 1);
  kafka.cmd("topic ts 4");
  // Per partition: first CreateTime (s before now), step (ms), messages per
  // message set, committed offset. Offsets inside a set test that the
  // message's own time is read, not its set's first.
  struct Part {
    int64_t firstAgoS, stepMs;
    int perBatch, committed;
  };
  const Part parts[4] = {
      {300, 1000, 1, 3}, {420, 1000, 5, 7}, {95, 250, 4, 14}, {3600, 60000, 1, 0}};
  int64_t base = unixMillis();
  std::vector<int64_t> expectedTs;
  for (int p = 0; p < 4; ++p) {
    int64_t first = base - parts[p].firstAgoS * 1000;
    kafka.cmd("produce_ts ts " + std::to_string(p) + " 20 " + std::to_string(first) + " " +
              std::to_string(parts[p].stepMs) + " " + std::to_string(parts[p].perBatch));
    kafka.cmd("commit tsg ts " + std::to_string(p) + " " + std::to_string(parts[p].committed));
    expectedTs.push_back(first + parts[p].committed * parts[p].stepMs);
  }
  writeFile(dir.file("qs.yaml"), "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" +
                                     kafka.bootstrap() + "\"\n    groups: [tsg]\n");
  QueueStatsProcess qs(dir, dir.file("qs.yaml"));
  auto series = [](int p) {
    return "kafka_consumergroup_lag_seconds{cluster=\"main\",consumergroup=\"tsg\",partition=\"" +
           std::to_string(p) + "\",topic=\"ts\"}";
  };
  const std::string lastSuccess =
      "queue_stats_last_success_timestamp_seconds{source=\"kafka\",target=\"main/tsg\"}";
  if (!pollMetrics(
          qs, [&](const std::string& m) { return seriesValue(m, series(3)).has_value(); }, 60s)) {
    f.add("lag seconds never exported: " + qs.process().log());
    return {};
  }
  AgeRun out;
  out.maxError = out.maxScrapeError = 0;
  for (int s = 0; s < scrapes; ++s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(330));
    std::string m = qs.metrics();
    int64_t scrapedAt = unixMillis();
    auto at = seriesValue(m, lastSuccess);
    for (int p = 0; p < 4; ++p) {
      auto v = seriesValue(m, series(p));
      if (!v || !at) {
        f.add("scrape " + std::to_string(s) + ": no lag seconds for partition " +
              std::to_string(p));
        continue;
      }
      double expected = *at - static_cast<double>(expectedTs[static_cast<size_t>(p)]) / 1000.0;
      double atScrape =
          static_cast<double>(scrapedAt - expectedTs[static_cast<size_t>(p)]) / 1000.0;
      out.maxError = std::max(out.maxError, std::abs(*v - expected));
      out.maxScrapeError = std::max(out.maxScrapeError, std::abs(*v - atScrape));
      ++out.samples;
    }
  }
  return out;
}

const char* met(bool ok) { return ok ? "yes" : "**no**"; }

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, calls = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::stoi(argv[i + 1]);
    if (std::string(argv[i]) == "--calls") calls = std::stoi(argv[i + 1]);
  }
  Failures f;
  auto deaths = brokerDeath(runs, f);
  auto stops = sigterm(runs, f);
  auto scaler = scalerLatency(calls, f);
  auto ages = lagSeconds(12, f);

  std::vector<double> withdrawn, counted, both, recovered, stopS;
  for (const auto& d : deaths) {
    withdrawn.push_back(d.withdrawn);
    counted.push_back(d.counted);
    both.push_back(std::max(d.withdrawn, d.counted));
    if (d.recovered >= 0) recovered.push_back(d.recovered);
  }
  int hanging = 0, abandoned = 0;
  for (const auto& s : stops) {
    stopS.push_back(s.seconds);
    if (s.errorsAtSignal == 0) ++hanging;
    if (s.abandoned) ++abandoned;
  }
  Spread b = spread(both), w = spread(withdrawn), c = spread(counted), st = spread(stopS),
         rec = spread(recovered);
  double p99h = percentile(scaler.healthy.ms, 0.99), p99d = percentile(scaler.oneDead.ms, 0.99);

  std::printf("## queue-stats timeliness (%u cores)\n\n", std::thread::hardware_concurrency());
  std::printf("librdkafka mock cluster, 1 broker per cluster, `interval: 1s`.\n\n");
  std::printf(
      "| figure | runs | min | median | max | target | met |\n|---|---|---|---|---|---|---|\n");
  std::printf(
      "| dead broker: lag withdrawn and collection error counted (later of the two) | %zu | %.2f s "
      "| %.2f s | %.2f s | <= 3 s | %s |\n",
      both.size(), b.min, b.median, b.max, met(!both.empty() && b.max <= 3.0));
  std::printf("| &nbsp;&nbsp;lag withdrawn from /metrics | %zu | %.2f s | %.2f s | %.2f s | | |\n",
              withdrawn.size(), w.min, w.median, w.max);
  std::printf(
      "| &nbsp;&nbsp;`queue_stats_collection_errors_total` incremented | %zu | %.2f s | %.2f s | "
      "%.2f s | | |\n",
      counted.size(), c.min, c.median, c.max);
  std::printf(
      "| SIGTERM to exit, broker dead, `timeout: 10s` (%d of %zu with no failed cycle yet at the "
      "signal; %d logged a collection abandoned) | %zu | %.3f s | %.3f s | %.3f s | <= 1 s | %s "
      "|\n",
      hanging, stops.size(), abandoned, stopS.size(), st.min, st.median, st.max,
      met(!stopS.empty() && st.max <= 1.0));
  std::printf(
      "| lag seconds error vs. the collection time (%d samples: 4 partitions x 12 scrapes) | | | | "
      "%.3f s | <= 1 s | %s |\n\n",
      ages.samples, ages.maxError, met(ages.samples > 0 && ages.maxError <= 1.0));
  std::printf(
      "Lag seconds against the scrape time instead (the value is measured at collection, up to "
      "one interval before): max error %.3f s. A dead cluster's lag came back %.1f-%.1f s after "
      "`up`.\n\n",
      ages.maxScrapeError, rec.min, rec.max);
  std::printf(
      "### KEDA GetMetrics for a healthy cluster (%d sequential calls, each checked: OK and "
      "value %lld)\n\n",
      calls, static_cast<long long>(kSeededLag));
  std::printf("| condition | p50 ms | p99 ms | max ms | failed calls |\n|---|---|---|---|---|\n");
  std::printf("| baseline: both clusters healthy | %.3f | %.3f | %.3f | %d |\n",
              percentile(scaler.healthy.ms, 0.5), p99h, percentile(scaler.healthy.ms, 1.0),
              scaler.healthy.failures);
  std::printf(
      "| another cluster dead (requests hanging, `timeout: 10s`; it answers %s) | %.3f | %.3f | "
      "%.3f | %d |\n\n",
      scaler.deadAnswer.c_str(), percentile(scaler.oneDead.ms, 0.5), p99d,
      percentile(scaler.oneDead.ms, 1.0), scaler.oneDead.failures);
  std::printf("p99 with a dead cluster / baseline p99: %.2fx; target p99 <= 5 ms: %s\n",
              p99d / p99h, met(p99d >= 0 && p99d <= 5.0));
  if (f.count) std::fprintf(stderr, "%d check(s) failed\n", f.count);
  return f.count ? 1 : 0;
}
