#include "adapter/providers/external_rules_provider.h"

#include <cmath>

#include "adapter/providers/query_execution.h"
#include "apiservice/status.h"
#include "rules/query_builder.h"

namespace adapter {

using apiservice::StatusError;

ExternalRulesProvider::ExternalRulesProvider(const ServingState& state, PrometheusApi& backend,
                                             const common::Clock& clock, common::Logger& log)
    : state_(state), backend_(backend), clock_(clock), log_(log) {}

bool ExternalRulesProvider::servesExternalMetric(const std::string& metric) const {
  auto snap = state_.current();
  return snap && snap->catalog.findExternal(metric) != nullptr;
}

std::vector<std::string> ExternalRulesProvider::listExternalMetrics() const {
  auto snap = state_.current();
  return snap ? snap->catalog.externalMetrics() : std::vector<std::string>{};
}

common::Task<std::vector<apiservice::ExternalMetricValue>> ExternalRulesProvider::getExternalMetric(
    const apiservice::ExternalMetricRequest& req, const common::RequestContext& ctx) const {
  auto snap = currentSnapshot(state_);
  const rules::CatalogEntry* entry = snap->catalog.findExternal(req.metric);
  if (!entry) {
    throw StatusError::notFound(
        "the server could not find the external metric \"" + req.metric +
        "\" (no external rule produced it from the series seen at the last discovery)");
  }
  rules::LabelSelector selector = parseRequestSelector(req.labelSelector, "labelSelector");
  std::string promql;
  try {
    promql = rules::buildExternalQuery(*entry->rule, entry->seriesName, req.ns, selector);
  } catch (const rules::SelectorError& e) {
    throw StatusError::badRequest(std::string("labelSelector: ") + e.what());
  } catch (const std::exception& e) {
    throw StatusError::internal(entry->rule->context + ": cannot build the query: " + e.what());
  }
  std::vector<apiservice::ExternalMetricValue> out;
  for (auto& s : co_await runQuery(backend_, clock_, log_, promql, ctx)) {
    if (!std::isfinite(s.value)) continue;
    s.labels.erase("__name__");
    out.push_back({req.metric, std::move(s.labels), s.value, s.timestampMs});
  }
  co_return out;
}

}  // namespace adapter
