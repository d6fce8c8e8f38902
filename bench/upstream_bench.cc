// upstream-bench: what forwarding costs. An external metric served by an
// upstream metrics-adapter (standing in for KEDA's metrics server), asked
// at a fixed 1,000 requests/s straight from the upstream (the baseline)
// and through a metrics-adapter that forwards it, in alternating rounds.
// Every timed answer must be a 200, and each must have made the upstream
// query its backend once (counted at the backend).
//   upstream-bench [--seconds S] [--rounds N]
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_support.h"
#include "test_support.h"

using namespace testsupport;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kPath =
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
    "s0-kafka-orders?labelSelector=scaledobject.keda.sh%2Fname%3Dorders";
const char* kUpstreamConfig =
    "externalRules:\n"
    "- seriesQuery: 'kafka_orders_lag'\n"
    "  name: {matches: '^kafka_orders_lag$', as: 's0-kafka-orders'}\n"
    "  metricsQuery: sum(<<.Series>>)\n";

FakeResponse backend(const FakeRequest& r) {
  if (r.target.find("/api/v1/series") != std::string::npos)
    return {200,
            R"({"status":"success","data":[{"__name__":"kafka_orders_lag","topic":"orders"}]})",
            0ms};
  return {200,
          R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[)" +
              std::to_string(unixMillis() / 1000) + R"(,"42"]}]}})",
          0ms};
}

size_t queries(const FakeBackend& b) {
  size_t n = 0;
  for (const auto& r : b.requests()) n += r.target.find("/api/v1/query") != std::string::npos;
  return n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string secs = "10";
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--seconds") secs = argv[i + 1];
    if (std::string(argv[i]) == "--rounds") rounds = std::stoi(argv[i + 1]);
  }
  TempDir dir;
  bench::Checks checks;
  FakeBackend prom(backend);
  FakeBackend empty([](const FakeRequest&) -> FakeResponse {
    return {200, R"({"status":"success","data":[]})", 0ms};
  });
  writeFile(dir.file("upstream.yaml"), kUpstreamConfig);
  writeFile(dir.file("forwarder.yaml"), "rules: []\n");
  AdapterProcess upstream(
      {"--standalone", "--config=" + dir.file("upstream.yaml"), "--prometheus-url=" + prom.url()},
      dir, "upstream");
  AdapterProcess forwarder(
      {"--standalone", "--config=" + dir.file("forwarder.yaml"), "--prometheus-url=" + empty.url(),
       "--external-metrics-upstream=https://127.0.0.1:" + std::to_string(upstream.port()),
       "--upstream-ca-file=" + dir.file("upstream-certs/apiserver.crt")},
      dir, "forwarder");
  if (!upstream.waitReady(30s) || !forwarder.waitReady(30s)) {
    std::fprintf(stderr, "upstream-bench: adapters not ready:\n%s\n%s\n",
                 upstream.process().log().c_str(), forwarder.process().log().c_str());
    return 1;
  }
  auto one = httpsGet(forwarder.port(), kPath);
  checks.expect(one.status == 200 && one.body.find("\"value\":\"42\"") != std::string::npos,
                "a forwarded answer is the upstream's value: " + one.body);

  std::vector<double> direct, forwarded, deltas;
  for (int r = 0; r < rounds; ++r) {
    for (bool viaForwarder : {false, true}) {
      int port = viaForwarder ? forwarder.port() : upstream.port();
      size_t before = queries(prom);
      json res = bench::loadgen({"--url", "https://127.0.0.1:" + std::to_string(port) + kPath,
                                 "--concurrency", "16", "--rate", "1000", "--seconds", secs},
                                dir);
      int n = res["requests"].get<int>();
      checks.expect(res["errors"] == 0 && n > 0, "every timed answer a 200");
      // loadgen warms each of its 16 connections with one untimed request.
      checks.expect(queries(prom) - before == static_cast<size_t>(n + 16),
                    "one upstream backend query per request");
      checks.expect(res["rps"].get<double>() > 900, "the offered 1,000 req/s were answered");
      (viaForwarder ? forwarded : direct).push_back(res["p99_ms"].get<double>());
    }
    deltas.push_back(forwarded.back() - direct.back());
  }
  std::printf("## Forwarding to an upstream (%u cores, 1,000 req/s, %s s x %d rounds)\n\n",
              std::thread::hardware_concurrency(), secs.c_str(), rounds);
  std::printf("| round | upstream direct p99 ms | through metrics-adapter p99 ms | added ms |\n");
  std::printf("|---|---|---|---|\n");
  for (int r = 0; r < rounds; ++r)
    std::printf("| %d | %.3f | %.3f | %+.3f |\n", r + 1, direct[r], forwarded[r], deltas[r]);
  std::printf("| median | %.3f | %.3f | %+.3f (target <= 1 ms) |\n", median(direct),
              median(forwarded), median(deltas));
  return checks.failed ? 1 : 0;
}
