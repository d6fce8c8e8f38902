// The JSON documents the three metrics API groups answer with, shaped as
// prometheus-adapter (custom-metrics-apiserver) sends them.
#pragma once

#include <string>
#include <vector>

#include "apiservice/custom_metrics_provider.h"
#include "apiservice/external_metrics_provider.h"
#include "apiservice/resource_metrics_provider.h"

namespace apiservice {

inline constexpr const char* kCustomGroup = "custom.metrics.k8s.io";
inline constexpr const char* kExternalGroup = "external.metrics.k8s.io";
inline constexpr const char* kResourceGroup = "metrics.k8s.io";

// RFC 3339 in UTC with second precision, as metav1.Time marshals.
std::string rfc3339(int64_t unixMillis);

std::string metricValueListJson(const std::string& version,
                                const std::vector<ObjectMetricValue>& items);
std::string externalMetricValueListJson(const std::vector<ExternalMetricValue>& items);
// Lists metrics.k8s.io only when `resourceMetrics` is served.
std::string apiGroupListJson(bool resourceMetrics);
std::string apiGroupJson(const std::string& group);
std::string customResourceListJson(const std::string& version,
                                   const std::vector<CustomMetricDescriptor>& metrics);
std::string externalResourceListJson(const std::vector<std::string>& metrics);
std::string resourceMetricsResourceListJson();
std::string nodeMetricsJson(const NodeMetricsItem& item, int64_t nowMs);
std::string nodeMetricsListJson(const std::vector<NodeMetricsItem>& items, int64_t nowMs);
std::string podMetricsJson(const PodMetricsItem& item, int64_t nowMs);
std::string podMetricsListJson(const std::vector<PodMetricsItem>& items, int64_t nowMs);
// A metav1.Duration as Go prints it: 60 -> "1m0s", 30 -> "30s".
std::string goDurationString(int64_t seconds);
std::string openApiJson(const std::string& version);
std::string versionJson(const std::string& version);

}  // namespace apiservice
