// The smallest setup with one custom and one external metric, shared by the
// backend failure tests and resilience-bench: a pod_load rule and a q_depth
// external rule, the series discovery answer naming both, and their paths.
#pragma once

#include <string>

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

}  // namespace testsupport::two_rules
