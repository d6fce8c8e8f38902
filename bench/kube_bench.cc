// kube-bench: label-selector requests against 10,000 cached pods, as
// kube-aggregator sends them (front-proxy certificate, X-Remote-User),
// through the fake kube-apiserver of the tests and a backend answering
// instantly, against the same backend queried directly. Also the object
// cache's memory per pod and the SubjectAccessReviews sent once warm.
// Prints a Markdown table.
//   kube-bench [--seconds S] [--concurrency C]
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "bench_support.h"
#include "fake_apiserver.h"
#include "test_support.h"

using namespace testsupport;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// 20 namespaces: 18 with 10 deployments of 50 pods, "big" with one of
// 1,000 pods. Pod names as a ReplicaSet makes them.
std::vector<std::pair<std::string, std::string>> makePods(FakeApiServer& api,
                                                          const std::string& prefix,
                                                          unsigned seed) {
  std::mt19937 rng(seed);
  const std::string alphabet = "bcdfghjklmnpqrstvwxz2456789";
  auto suffix = [&] {
    std::string s;
    for (int i = 0; i < 5; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  std::vector<std::pair<std::string, std::string>> made;
  auto add = [&](const std::string& ns, const std::string& app, int n) {
    for (int i = 0; i < n; ++i) {
      std::string name = prefix + app + "-7d9f8c6b5-" + suffix();
      api.upsert("pods",
                 FakeApiServer::pod(ns, name, {{"app", app}, {"pod-template-hash", "7d9f8c6b5"}}));
      made.emplace_back(ns, name);
    }
  };
  for (int n = 0; n < 18; ++n)
    for (int d = 0; d < 10; ++d) add("ns-" + std::to_string(n), "dep-" + std::to_string(d), 50);
  add("big", "bulk", 1000);
  return made;
}

std::string vectorFor(const std::vector<std::pair<std::string, std::string>>& pods,
                      const std::string& ns, const std::string& app) {
  json result = json::array();
  for (const auto& [pns, name] : pods) {
    if (pns != ns || name.find(app + "-7d9f8c6b5-") == std::string::npos) continue;
    result.push_back({{"metric", {{"pod", name}}}, {"value", {1700000000.0, "12.5"}}});
  }
  return json{{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", result}}}}
      .dump();
}

double cached(int port, const KeyPair& proxy) {
  auto r = httpsRequest(port, "/metrics",
                        {{"X-Remote-User", "bench"}, {"X-Remote-Group", "system:masters"}}, &proxy);
  std::smatch m;
  if (std::regex_search(
          r.body, m,
          std::regex(R"(metrics_adapter_object_cache_objects\{resource="pods"\} ([0-9.e+]+))")))
    return std::stod(m[1]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  int concurrency = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--seconds") seconds = std::stod(argv[i + 1]);
    if (f == "--concurrency") concurrency = std::stoi(argv[i + 1]);
  }
  TempDir dir;
  FakeApiServer api;
  api.setPolicy([](const json&, std::string&) { return true; });
  auto pods = makePods(api, "", 1);
  std::string small = vectorFor(pods, "ns-3", "dep-7"), large = vectorFor(pods, "big", "bulk");
  FakeBackend prom([&](const FakeRequest& r) -> FakeResponse {
    if (r.target.rfind("/api/v1/series", 0) == 0)
      return {
          200,
          R"({"status":"success","data":[{"__name__":"http_requests","namespace":"ns-0","pod":"x"}]})",
          0ms};
    std::string q = r.target + r.body;
    return {200, q.find("big") != std::string::npos ? large : small, 0ms};
  });
  writeFile(dir.file("config.yaml"),
            "rules:\n- seriesQuery: 'http_requests{namespace!=\"\",pod!=\"\"}'\n  resources:\n    "
            "overrides:\n"
            "      namespace: {resource: namespace}\n      pod: {resource: pod}\n"
            "  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n");
  std::string kc = api.writeKubeconfig(dir, "adapter", FakeApiServer::kAdapterToken);
  AdapterProcess adapter({"--config=" + dir.file("config.yaml"), "--prometheus-url=" + prom.url(),
                          "--lister-kubeconfig=" + kc, "--authentication-kubeconfig=" + kc,
                          "--authorization-kubeconfig=" + kc},
                         dir);
  if (!adapter.waitReady(60s)) {
    std::cerr << adapter.process().log();
    return 1;
  }
  KeyPair proxy = api.frontProxyCa().issue({"front-proxy-client"});
  writeFile(dir.file("proxy.crt"), proxy.certPem);
  writeFile(dir.file("proxy.key"), proxy.keyPem);
  std::this_thread::sleep_for(1s);
  long rssBefore = bench::statusKb(adapter.process().pid(), "VmRSS:");

  const std::string base = "https://127.0.0.1:" + std::to_string(adapter.port());
  const std::string smallPath =
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns-3/pods/%2A/"
      "http_requests?labelSelector=app%3Ddep-7";
  const std::string largePath =
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/big/pods/%2A/"
      "http_requests?labelSelector=app%3Dbulk";
  std::vector<std::pair<std::string, std::string>> asHpa{
      {"X-Remote-User", "system:serviceaccount:kube-system:horizontal-pod-autoscaler"},
      {"X-Remote-Group", "system:serviceaccounts"},
      {"X-Remote-Group", "system:authenticated"}};
  auto first = httpsRequest(adapter.port(), smallPath, asHpa, &proxy);
  if (first.status != 200) {
    std::cerr << "first request failed: " << first.status << " " << first.body << "\n";
    return 1;
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (cached(adapter.port(), proxy) < 10000 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(2s);
  long rssCached = bench::statusKb(adapter.process().pid(), "VmRSS:");

  // 10,000 more pods through the watch: the growth is the per-pod cost.
  auto more = makePods(api, "more-", 2);
  (void)more;
  deadline = std::chrono::steady_clock::now() + 120s;
  while (cached(adapter.port(), proxy) < 20000 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  std::this_thread::sleep_for(2s);
  long rssDoubled = bench::statusKb(adapter.process().pid(), "VmRSS:");
  double cachedNow = cached(adapter.port(), proxy);

  auto small1 = json::parse(httpsRequest(adapter.port(), smallPath, asHpa, &proxy).body);
  auto large1 = json::parse(httpsRequest(adapter.port(), largePath, asHpa, &proxy).body);
  std::vector<std::string> certArgs{"--cert", dir.file("proxy.crt"), "--key",
                                    dir.file("proxy.key")};
  for (const auto& [k, v] : asHpa) {
    certArgs.push_back("--header");
    certArgs.push_back(k + ": " + v);
  }
  std::string secs = std::to_string(seconds), conc = std::to_string(concurrency);
  struct Row {
    std::string what;
    size_t pods;
    json direct, adapter;
  };
  std::vector<Row> rows;
  int reviewsBefore = api.accessReviews();
  for (auto [what, path, body, n] :
       {std::tuple{"50 of 500 pods in a namespace", smallPath, small, small1["items"].size()},
        std::tuple{"1,000 of 1,000 pods (one Deployment)", largePath, large,
                   large1["items"].size()}}) {
    std::string q = std::string(what).find("1,000") != std::string::npos ? "big" : "ns-3";
    json direct = bench::loadgen({"--url", prom.url() + "/api/v1/query?query=" + q, "--concurrency",
                                  conc, "--seconds", secs},
                                 dir);
    std::vector<std::string> args{"--url", base + path, "--concurrency", conc, "--seconds", secs};
    args.insert(args.end(), certArgs.begin(), certArgs.end());
    json viaAdapter = bench::loadgen(args, dir);
    rows.push_back({what, n, direct, viaAdapter});
  }
  int reviewsDuring = api.accessReviews() - reviewsBefore;
  json fixed;
  {
    std::vector<std::string> args{"--url", base + smallPath, "--concurrency", "16", "--seconds",
                                  secs,    "--rate",         "1000"};
    args.insert(args.end(), certArgs.begin(), certArgs.end());
    fixed = bench::loadgen(args, dir);
  }
  json fixedDirect = bench::loadgen({"--url", prom.url() + "/api/v1/query?query=ns-3",
                                     "--concurrency", "16", "--seconds", secs, "--rate", "1000"},
                                    dir);

  unsigned cores = std::thread::hardware_concurrency();
  std::printf("## Kubernetes mode (%u cores): label-selector requests with 10,000 pods cached\n\n",
              cores);
  std::printf(
      "Requests as kube-aggregator sends them (front-proxy certificate, X-Remote-User/Group; "
      "authorization cached), concurrency %d, %.0f s each; the backend answers from memory.\n\n",
      concurrency, seconds);
  std::printf(
      "| selection | pods answered | backend direct req/s | backend p99 ms | adapter req/s | "
      "adapter p50 ms | adapter p99 ms | adapter p99 minus backend p99 ms "
      "|\n|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    std::printf("| %s | %zu | %.0f | %.2f | %.0f | %.2f | %.2f | %.2f |\n", r.what.c_str(), r.pods,
                r.direct["rps"].get<double>(), r.direct["p99_ms"].get<double>(),
                r.adapter["rps"].get<double>(), r.adapter["p50_ms"].get<double>(),
                r.adapter["p99_ms"].get<double>(),
                r.adapter["p99_ms"].get<double>() - r.direct["p99_ms"].get<double>());
  }
  std::printf(
      "\nAt a fixed 1,000 req/s (16 connections, 50-pod selection): adapter %.0f req/s, p50 %.2f "
      "ms, "
      "p99 %.2f ms; backend alone p99 %.2f ms.\n\n",
      fixed["rps"].get<double>(), fixed["p50_ms"].get<double>(), fixed["p99_ms"].get<double>(),
      fixedDirect["p99_ms"].get<double>());
  std::printf("| object cache | value |\n|---|---|\n");
  std::printf("| RSS before the pod cache | %.1f MB |\n", rssBefore / 1024.0);
  std::printf("| RSS with 10,000 pods cached (after the LIST) | %.1f MB |\n", rssCached / 1024.0);
  std::printf("| RSS with %.0f pods cached (10,000 more by watch) | %.1f MB |\n", cachedNow,
              rssDoubled / 1024.0);
  std::printf("| memory per cached pod (growth over the 10,000 watched in) | %.0f bytes |\n",
              (rssDoubled - rssCached) * 1024.0 / 10000.0);
  std::printf(
      "| memory per cached pod (all 10,000 listed, upper bound incl. LIST buffers) | %.0f bytes "
      "|\n",
      (rssCached - rssBefore) * 1024.0 / 10000.0);
  std::printf(
      "| SubjectAccessReviews sent during %zu warm requests (one per request kind per 10 s TTL) | "
      "%d |\n",
      static_cast<size_t>(rows[0].adapter["requests"].get<double>() +
                          rows[1].adapter["requests"].get<double>()),
      reviewsDuring);
  std::printf(
      "| pod LIST pages read by the adapter in the whole run (one LIST, 500 per page) | %d |\n",
      api.listCount("pods"));
  int errors = 0;
  for (const auto& r : rows) errors += r.adapter["errors"].get<int>();
  return errors ? 1 : 0;
}
