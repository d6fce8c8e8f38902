// The JSON documents the three metrics API groups answer with, shaped as
// prometheus-adapter (custom-metrics-apiserver) sends them.
#pragma once

#include <string>
#include <vector>

#include "apiservice/metrics_provider.h"

namespace apiservice {

inline constexpr const char* kCustomGroup = "custom.metrics.k8s.io";
inline constexpr const char* kExternalGroup = "external.metrics.k8s.io";

// RFC 3339 in UTC with second precision, as metav1.Time marshals.
std::string rfc3339(int64_t unixMillis);

std::string metricValueListJson(const std::string& version,
                                const std::vector<ObjectMetricValue>& items);
std::string externalMetricValueListJson(const std::vector<ExternalMetricValue>& items);
std::string apiGroupListJson();
std::string apiGroupJson(const std::string& group);
std::string customResourceListJson(const std::string& version,
                                   const std::vector<CustomMetricDescriptor>& metrics);
std::string externalResourceListJson(const std::vector<std::string>& metrics);
std::string openApiJson(const std::string& version);
std::string versionJson(const std::string& version);

}  // namespace apiservice
