// Custom and external metrics answered from Prometheus: resolve the
// resource, find the serving rule in the catalog, render its query, run it,
// and turn samples into metric values. Never turns an error into a value.
#pragma once

#include "adapter/clock.h"
#include "adapter/prometheus_client.h"
#include "adapter/serving_state.h"
#include "apiservice/logger.h"
#include "apiservice/metrics_provider.h"

namespace adapter {

struct ProviderOptions {
  // Without a Kubernetes connection, `*` means every object with series and
  // an object labelSelector cannot be evaluated.
  bool standalone = true;
};

class PrometheusProvider final : public apiservice::MetricsProvider {
 public:
  PrometheusProvider(const ServingState& state, PrometheusApi& backend, const Clock& clock,
                     apiservice::Logger& log, ProviderOptions opts);

  std::vector<apiservice::CustomMetricDescriptor> listCustomMetrics() const override;
  std::vector<apiservice::ObjectMetricValue> getObjectMetric(
      const apiservice::ObjectMetricRequest& req) const override;
  std::vector<std::string> listExternalMetrics() const override;
  std::vector<apiservice::ExternalMetricValue> getExternalMetric(
      const apiservice::ExternalMetricRequest& req) const override;

 private:
  std::shared_ptr<const Snapshot> snapshot() const;
  std::vector<Sample> run(const std::string& promql) const;
  const ServingState& state_;
  PrometheusApi& backend_;
  const Clock& clock_;
  apiservice::Logger& log_;
  ProviderOptions opts_;
};

}  // namespace adapter
