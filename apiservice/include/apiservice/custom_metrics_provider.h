// custom.metrics.k8s.io: metrics that describe Kubernetes objects. The seam
// between the router and whatever computes them; implementations throw
// StatusError for anything the client should see.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/coro.h"
#include "common/request_context.h"

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

struct CustomMetricDescriptor {
  std::string resource;  // "pods", "deployments.apps"
  bool namespaced = true;
  std::string metric;
};

class CustomMetricsProvider {
 public:
  virtual ~CustomMetricsProvider() = default;
  virtual std::vector<CustomMetricDescriptor> listCustomMetrics() const = 0;
  // Whether a rule serves `metric` for `resource` (as requested: "pods",
  // "deployments.apps") now; a cheap check, no I/O.
  virtual bool servesCustomMetric(const std::string& resource, const std::string& metric) const = 0;
  // A coroutine: the backend call inherits `ctx`'s deadline and cancel.
  virtual common::Task<std::vector<ObjectMetricValue>> getObjectMetric(
      const ObjectMetricRequest& req, const common::RequestContext& ctx) const = 0;
};

}  // namespace apiservice
