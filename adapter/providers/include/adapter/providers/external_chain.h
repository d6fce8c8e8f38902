// external.metrics.k8s.io over several sources, tried in order: discovery
// lists every source's names once; a request goes to the first source that
// serves its name. A name nobody claims is asked of each source in turn,
// and the first answer that is not a 404 wins (a source that is still
// starting says 503, not "unknown").
#pragma once

#include <vector>

#include "adapter/providers/external_source.h"

namespace adapter {

class ExternalMetricsChain final : public apiservice::ExternalMetricsProvider {
 public:
  // The sources must outlive the chain; at least one.
  explicit ExternalMetricsChain(std::vector<const ExternalMetricsSource*> sources);
  // Sorted, without duplicates.
  std::vector<std::string> listExternalMetrics() const override;
  bool servesExternalMetric(const std::string& metric) const override;
  common::Task<std::vector<apiservice::ExternalMetricValue>> getExternalMetric(
      const apiservice::ExternalMetricRequest& req,
      const common::RequestContext& ctx) const override;

 private:
  std::vector<const ExternalMetricsSource*> sources_;
};

}  // namespace adapter
