// The seam between the API server and whatever computes metric values.
// Implementations throw StatusError for anything the client should see.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace apiservice {

struct ObjectMetricRequest {
  std::string resource;  // as requested: "pods", "pod", "deployments.apps"
  std::string ns;        // empty for cluster-scoped objects
  std::string name;      // an object name, or "*" for every object
  std::string metric;
  std::string labelSelector;
  std::string metricLabelSelector;
};

struct DescribedObject {
  std::string kind;
  std::string ns;
  std::string name;
  std::string apiVersion;  // "/v1" for the core group, as prometheus-adapter sends it
};

struct ObjectMetricValue {
  DescribedObject object;
  std::string metric;
  double value = 0;         // always finite
  int64_t timestampMs = 0;  // Unix milliseconds
};

struct ExternalMetricRequest {
  std::string ns;
  std::string metric;
  std::string labelSelector;
};

struct ExternalMetricValue {
  std::string metric;
  std::map<std::string, std::string> labels;
  double value = 0;
  int64_t timestampMs = 0;
};

struct CustomMetricDescriptor {
  std::string resource;  // "pods", "deployments.apps"
  bool namespaced = true;
  std::string metric;
};

class MetricsProvider {
 public:
  virtual ~MetricsProvider() = default;
  virtual std::vector<CustomMetricDescriptor> listCustomMetrics() const = 0;
  virtual std::vector<ObjectMetricValue> getObjectMetric(const ObjectMetricRequest& req) const = 0;
  virtual std::vector<std::string> listExternalMetrics() const = 0;
  virtual std::vector<ExternalMetricValue> getExternalMetric(
      const ExternalMetricRequest& req) const = 0;
};

}  // namespace apiservice

namespace apiservice {

// metrics.k8s.io (kubectl top, HPA resource metrics), from resourceRules.
// A resource with no measurement is absent, never zero.
struct ContainerUsage {
  std::string name;
  std::optional<double> cpuCores;
  std::optional<double> memoryBytes;
};

struct PodMetricsItem {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> labels;
  int64_t timestampMs = 0;
  int64_t windowSeconds = 0;
  std::vector<ContainerUsage> containers;
};

struct NodeMetricsItem {
  std::string name;
  std::map<std::string, std::string> labels;
  int64_t timestampMs = 0;
  int64_t windowSeconds = 0;
  double cpuCores = 0;
  double memoryBytes = 0;
};

class ResourceMetricsProvider {
 public:
  virtual ~ResourceMetricsProvider() = default;
  // Whether the current config has resourceRules; the group is served
  // (and listed in discovery) only then.
  virtual bool servesResourceMetrics() const = 0;
  // `name` empty: every node matching `labelSelector`.
  virtual std::vector<NodeMetricsItem> nodeMetrics(const std::string& name,
                                                   const std::string& labelSelector) const = 0;
  // `ns` empty: every namespace; `name` empty: every running pod matching
  // `labelSelector`.
  virtual std::vector<PodMetricsItem> podMetrics(const std::string& ns, const std::string& name,
                                                 const std::string& labelSelector) const = 0;
};

}  // namespace apiservice
