// metrics.k8s.io from resourceRules, as metrics-server serves it: per pod
// and container CPU (cores) and memory (bytes), per node both. Running pods
// and nodes come from the object lister; without one (--standalone) they
// come from the series themselves. A missing or non-finite sample leaves
// the value out, never zero. Several samples for one container (or node)
// mean the query does not aggregate: the answer is refused, not guessed.
#pragma once

#include "adapter/kube/object_lister.h"
#include "adapter/prometheus/prometheus_api.h"
#include "adapter/prometheus/serving_state.h"
#include "apiservice/resource_metrics_provider.h"
#include "common/clock.h"
#include "common/logger.h"

namespace adapter {

class PrometheusResourceMetrics final : public apiservice::ResourceMetricsProvider {
 public:
  PrometheusResourceMetrics(const ServingState& state, PrometheusApi& backend,
                            const common::Clock& clock, common::Logger& log, ObjectLister* objects);
  bool servesResourceMetrics() const override;
  common::Task<std::vector<apiservice::NodeMetricsItem>> nodeMetrics(
      const std::string& name, const std::string& labelSelector,
      const common::RequestContext& ctx) const override;
  common::Task<std::vector<apiservice::PodMetricsItem>> podMetrics(
      const std::string& ns, const std::string& name, const std::string& labelSelector,
      const common::RequestContext& ctx) const override;

 private:
  const ServingState& state_;
  PrometheusApi& backend_;
  const common::Clock& clock_;
  common::Logger& log_;
  ObjectLister* objects_;
};

}  // namespace adapter
