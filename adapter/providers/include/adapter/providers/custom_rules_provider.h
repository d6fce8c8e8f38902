// custom.metrics.k8s.io from the rules: resolve the resource, find the
// serving rule in the catalog, render its query, run it, and turn samples
// into values. Never turns an error into a value.
#pragma once

#include "adapter/kube/object_lister.h"
#include "adapter/prometheus/prometheus_api.h"
#include "adapter/prometheus/serving_state.h"
#include "apiservice/custom_metrics_provider.h"
#include "common/clock.h"
#include "common/logger.h"

namespace adapter {

class CustomRulesProvider final : public apiservice::CustomMetricsProvider {
 public:
  // `objects` null (--standalone): `*` means every object with series and
  // an object labelSelector cannot be evaluated. Otherwise `*` means the
  // objects the lister finds for the selector, as prometheus-adapter.
  CustomRulesProvider(const ServingState& state, PrometheusApi& backend, const common::Clock& clock,
                      common::Logger& log, ObjectLister* objects);

  std::vector<apiservice::CustomMetricDescriptor> listCustomMetrics() const override;
  bool servesCustomMetric(const std::string& resource, const std::string& metric) const override;
  common::Task<std::vector<apiservice::ObjectMetricValue>> getObjectMetric(
      const apiservice::ObjectMetricRequest& req, const common::RequestContext& ctx) const override;

 private:
  // The objects a request names: one, or those `*` selects (404 when none).
  common::Task<std::vector<std::string>> requestedNames(const apiservice::ObjectMetricRequest& req,
                                                        const rules::ResourceInfo& info,
                                                        const common::RequestContext& ctx) const;
  const ServingState& state_;
  PrometheusApi& backend_;
  const common::Clock& clock_;
  common::Logger& log_;
  ObjectLister* objects_;
};

}  // namespace adapter
