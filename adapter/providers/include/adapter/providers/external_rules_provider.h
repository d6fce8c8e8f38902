// external.metrics.k8s.io from the externalRules: the catalog names what is
// served; a request's selector becomes the query's label matchers.
#pragma once

#include "adapter/prometheus/prometheus_api.h"
#include "adapter/prometheus/serving_state.h"
#include "adapter/providers/external_source.h"
#include "common/clock.h"
#include "common/logger.h"

namespace adapter {

class ExternalRulesProvider final : public ExternalMetricsSource {
 public:
  ExternalRulesProvider(const ServingState& state, PrometheusApi& backend,
                        const common::Clock& clock, common::Logger& log);

  bool servesExternalMetric(const std::string& metric) const override;
  std::vector<std::string> listExternalMetrics() const override;
  // 503 before the first discovery; 404 for a name no rule produced.
  common::Task<std::vector<apiservice::ExternalMetricValue>> getExternalMetric(
      const apiservice::ExternalMetricRequest& req,
      const common::RequestContext& ctx) const override;

 private:
  const ServingState& state_;
  PrometheusApi& backend_;
  const common::Clock& clock_;
  common::Logger& log_;
};

}  // namespace adapter
