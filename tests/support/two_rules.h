// The smallest setup with one custom and one external metric, shared by the
// backend failure tests and resilience-bench: a pod_load rule and a q_depth
// external rule, the series discovery answer naming both, their paths,
// and the helpers that load and count them.
#pragma once

#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace testsupport::two_rules {

inline const char* const kSeries =
    R"({"status":"success","data":[{"__name__":"q_depth","namespace":"ns","queue":"a"},)"
    R"({"__name__":"pod_load","namespace":"ns","pod":"p1"}]})";

inline const char* const kConfig = R"(rules:
- seriesQuery: pod_load
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: q_depth
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
)";

inline const std::string kPod =
    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/p1/pod_load";
inline const std::string kExt = "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/q_depth";

// `n` requests for `target` in flight at once on their own connections;
// joined on destruction.
struct Outstanding {
  std::vector<std::thread> threads;
  std::vector<HttpsResult> results;
  Outstanding(int port, const std::string& target, int n) : results(static_cast<size_t>(n)) {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this, port, target, i] { results[i] = httpsGet(port, target); });
  }
  void join() {
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
  // Joins, then counts the 200s.
  size_t ok() {
    join();
    size_t n = 0;
    for (const auto& r : results) n += r.status == 200;
    return n;
  }
  ~Outstanding() { join(); }
};

// The /api/v1/query calls the backend received for `metric`.
inline size_t queriesFor(const FakeBackend& fake, const std::string& metric) {
  size_t n = 0;
  for (const auto& r : fake.requests())
    if (r.target.find("/api/v1/query") != std::string::npos &&
        (r.target + r.body).find(metric) != std::string::npos)
      ++n;
  return n;
}

}  // namespace testsupport::two_rules
