// Custom and external metrics answered from Prometheus: resolve the
// resource, find the serving rule in the catalog, render its query, run it,
// and turn samples into metric values. Never turns an error into a value.
#pragma once

#include "adapter/clock.h"
#include "adapter/object_lister.h"
#include "adapter/prometheus_client.h"
#include "adapter/serving_state.h"
#include "apiservice/logger.h"
#include "apiservice/metrics_provider.h"

namespace adapter {

class PrometheusProvider final : public apiservice::MetricsProvider {
 public:
  // `objects` null (--standalone): `*` means every object with series and
  // an object labelSelector cannot be evaluated. Otherwise `*` means the
  // objects the lister finds for the selector, as prometheus-adapter.
  PrometheusProvider(const ServingState& state, PrometheusApi& backend, const Clock& clock,
                     apiservice::Logger& log, ObjectLister* objects);

  std::vector<apiservice::CustomMetricDescriptor> listCustomMetrics() const override;
  std::vector<apiservice::ObjectMetricValue> getObjectMetric(
      const apiservice::ObjectMetricRequest& req) const override;
  std::vector<std::string> listExternalMetrics() const override;
  std::vector<apiservice::ExternalMetricValue> getExternalMetric(
      const apiservice::ExternalMetricRequest& req) const override;

 private:
  std::shared_ptr<const Snapshot> snapshot() const;
  const ServingState& state_;
  PrometheusApi& backend_;
  const Clock& clock_;
  apiservice::Logger& log_;
  ObjectLister* objects_;
};

// Helpers shared by the metrics providers.
std::shared_ptr<const Snapshot> currentSnapshot(const ServingState& state);
// Runs a query; backend failures become 503 (unreachable) or 500.
std::vector<Sample> runQuery(PrometheusApi& backend, const Clock& clock, apiservice::Logger& log,
                             const std::string& promql);
// Parses a request's selector; a bad one is 400 naming the parameter.
rules::LabelSelector parseRequestSelector(const std::string& text, const char* param);

}  // namespace adapter
