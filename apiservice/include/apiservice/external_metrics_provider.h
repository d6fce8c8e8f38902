// external.metrics.k8s.io: metrics that describe nothing in the cluster
// (queue depths, cloud numbers), selected by labels. Implementations throw
// StatusError for anything the client should see.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/coro.h"
#include "common/request_context.h"

namespace apiservice {

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

class ExternalMetricsProvider {
 public:
  virtual ~ExternalMetricsProvider() = default;
  virtual std::vector<std::string> listExternalMetrics() const = 0;
  // Whether `metric` is answered here now (a cheap check: no I/O); a
  // provider asked for a name it does not serve answers 404.
  virtual bool servesExternalMetric(const std::string& metric) const = 0;
  virtual common::Task<std::vector<ExternalMetricValue>> getExternalMetric(
      const ExternalMetricRequest& req, const common::RequestContext& ctx) const = 0;
};

}  // namespace apiservice
