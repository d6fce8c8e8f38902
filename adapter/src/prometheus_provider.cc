#include "adapter/prometheus_provider.h"

#include <algorithm>
#include <cmath>

#include "apiservice/status.h"
#include "rules/label_selector.h"
#include "rules/query_builder.h"

namespace adapter {

using apiservice::StatusError;

PrometheusProvider::PrometheusProvider(const ServingState& state, PrometheusApi& backend,
                                       const Clock& clock, apiservice::Logger& log,
                                       ObjectLister* objects)
    : state_(state), backend_(backend), clock_(clock), log_(log), objects_(objects) {}

std::shared_ptr<const Snapshot> currentSnapshot(const ServingState& state) {
  auto snap = state.current();
  if (!snap)
    throw StatusError::unavailable("metric discovery has not completed yet; retry shortly");
  return snap;
}

std::shared_ptr<const Snapshot> PrometheusProvider::snapshot() const {
  return currentSnapshot(state_);
}

std::vector<apiservice::CustomMetricDescriptor> PrometheusProvider::listCustomMetrics() const {
  std::vector<apiservice::CustomMetricDescriptor> out;
  auto snap = state_.current();
  if (!snap) return out;
  out.reserve(snap->catalog.customMetrics().size());
  for (const auto& m : snap->catalog.customMetrics())
    out.push_back({m.resource.gr.str(), m.namespaced, m.metric});
  return out;
}

std::vector<std::string> PrometheusProvider::listExternalMetrics() const {
  auto snap = state_.current();
  return snap ? snap->catalog.externalMetrics() : std::vector<std::string>{};
}

std::vector<Sample> runQuery(PrometheusApi& backend, const Clock& clock, apiservice::Logger& log,
                             const std::string& promql) {
  log.v(4, "running query", {{"query", promql}});
  try {
    return backend.query(promql, clock.nowMillis());
  } catch (const BackendError& e) {
    if (e.unavailable()) throw StatusError::unavailable(e.what());
    throw StatusError::internal(e.what());
  }
}

rules::LabelSelector parseRequestSelector(const std::string& text, const char* param) {
  try {
    return rules::parseLabelSelector(text);
  } catch (const rules::SelectorError& e) {
    throw StatusError::badRequest(std::string(param) + ": " + e.what());
  }
}

std::vector<apiservice::ObjectMetricValue> PrometheusProvider::getObjectMetric(
    const apiservice::ObjectMetricRequest& req) const {
  auto snap = snapshot();
  const auto& rules = *snap->rules;
  auto info = rules.mapper().resolve(req.resource);
  if (!info)
    throw StatusError::notFound("resource \"" + req.resource +
                                "\" is not a known Kubernetes resource");
  if (!info->namespaced && !req.ns.empty()) {
    throw StatusError::notFound(info->gr.str() +
                                " is cluster-scoped: request it without a namespace");
  }
  const rules::CatalogEntry* entry = snap->catalog.findCustom(info->gr, req.metric);
  if (!entry) {
    throw StatusError::notFound(
        "the server could not find the metric \"" + req.metric + "\" for " + info->gr.str() +
        " (no rule produced it from the series seen at the last discovery)");
  }
  bool all = req.name == "*";
  if (all && !req.labelSelector.empty() && !objects_) {
    throw StatusError::badRequest(
        "labelSelector on objects needs a Kubernetes connection to list them; this adapter runs "
        "with --standalone");
  }
  rules::LabelSelector metricSelector =
      parseRequestSelector(req.metricLabelSelector, "metricLabelSelector");
  std::vector<std::string> names;
  if (!all) {
    names.push_back(req.name);
  } else if (objects_) {
    ObjectQuery oq{&*info, info->namespaced ? req.ns : "",
                   parseRequestSelector(req.labelSelector, "labelSelector"), req.labelSelector,
                   false};
    names = objects_->names(oq);
    if (names.empty()) {
      throw StatusError::notFound(
          "no " + info->gr.str() + " match" +
          (req.labelSelector.empty() ? "" : " labelSelector \"" + req.labelSelector + "\"") +
          (req.ns.empty() ? "" : " in namespace \"" + req.ns + "\"") +
          ", so there is no value of metric \"" + req.metric + "\" to report");
    }
  }
  rules::CustomQuery q;
  try {
    q = rules::buildCustomQuery(*entry->rule, entry->seriesName, info->gr, req.ns, names,
                                metricSelector);
  } catch (const rules::SelectorError& e) {
    throw StatusError::badRequest(std::string("metricLabelSelector: ") + e.what());
  } catch (const std::exception& e) {
    throw StatusError::internal(entry->rule->context + ": cannot build the query: " + e.what());
  }
  std::vector<Sample> samples = runQuery(backend_, clock_, log_, q.promql);
  std::string apiVersion = info->gr.group.empty() ? "/" + info->version : info->groupVersion();
  // Two samples for one object means the query does not aggregate by the
  // object's label: picking one (even the only finite one) would report an
  // arbitrary number. Checked before NaN/Inf samples are dropped.
  std::vector<std::string_view> seen;
  for (const auto& s : samples) {
    auto it = s.labels.find(q.resourceLabel);
    if (it != s.labels.end() && !it->second.empty()) seen.push_back(it->second);
  }
  std::sort(seen.begin(), seen.end());
  if (auto dup = std::adjacent_find(seen.begin(), seen.end()); dup != seen.end()) {
    throw StatusError::internal(entry->rule->context + ": the query returned several samples for " +
                                info->gr.str() + " \"" + std::string(*dup) +
                                "\"; metricsQuery must aggregate by the object label, e.g. "
                                "sum(...) by (<<.GroupBy>>)");
  }
  std::vector<apiservice::ObjectMetricValue> out;
  size_t dropped = 0;
  for (auto& s : samples) {
    auto it = s.labels.find(q.resourceLabel);
    if (it == s.labels.end() || it->second.empty()) continue;
    // Only the objects asked for (the query may match more, e.g. a
    // regex over a namespace's pods).
    if (!names.empty() && !std::binary_search(names.begin(), names.end(), it->second)) continue;
    if (!std::isfinite(s.value)) {
      ++dropped;
      continue;
    }
    apiservice::DescribedObject obj{info->kind, info->namespaced ? req.ns : "", it->second,
                                    apiVersion};
    out.push_back({std::move(obj), req.metric, s.value, s.timestampMs});
  }
  if (dropped)
    log_.v(2, "dropped non-finite samples",
           {{"metric", req.metric}, {"count", std::to_string(dropped)}});
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.object.name < b.object.name; });
  if (!all && out.empty()) {
    throw StatusError::notFound(
        "no value for metric \"" + req.metric + "\" on " + info->gr.str() + " \"" + req.name +
        "\"" + (req.ns.empty() ? "" : " in namespace \"" + req.ns + "\"") +
        (dropped ? " (its sample was NaN or infinite)" : " (the query returned no sample for it)"));
  }
  return out;
}

std::vector<apiservice::ExternalMetricValue> PrometheusProvider::getExternalMetric(
    const apiservice::ExternalMetricRequest& req) const {
  auto snap = snapshot();
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
  for (auto& s : runQuery(backend_, clock_, log_, promql)) {
    if (!std::isfinite(s.value)) continue;
    s.labels.erase("__name__");
    out.push_back({req.metric, std::move(s.labels), s.value, s.timestampMs});
  }
  return out;
}

}  // namespace adapter
