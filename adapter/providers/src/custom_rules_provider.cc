#include "adapter/providers/custom_rules_provider.h"

#include <algorithm>
#include <cmath>

#include "adapter/providers/query_execution.h"
#include "apiservice/status.h"
#include "rules/label_selector.h"
#include "rules/query_builder.h"

namespace adapter {

using apiservice::StatusError;

namespace {

rules::ResourceInfo resolveResource(const Snapshot& snap,
                                    const apiservice::ObjectMetricRequest& req) {
  auto info = snap.rules->mapper().resolve(req.resource);
  if (!info)
    throw StatusError::notFound("resource \"" + req.resource +
                                "\" is not a known Kubernetes resource");
  if (!info->namespaced && !req.ns.empty()) {
    throw StatusError::notFound(info->gr.str() +
                                " is cluster-scoped: request it without a namespace");
  }
  return *info;
}

const rules::CatalogEntry& findEntry(const Snapshot& snap, const rules::ResourceInfo& info,
                                     const std::string& metric) {
  const rules::CatalogEntry* entry = snap.catalog.findCustom(info.gr, metric);
  if (!entry) {
    throw StatusError::notFound(
        "the server could not find the metric \"" + metric + "\" for " + info.gr.str() +
        " (no rule produced it from the series seen at the last discovery)");
  }
  return *entry;
}

rules::CustomQuery buildQuery(const rules::CatalogEntry& entry, const rules::ResourceInfo& info,
                              const std::string& ns, const std::vector<std::string>& names,
                              const rules::LabelSelector& metricSelector) {
  try {
    return rules::buildCustomQuery(*entry.rule, entry.seriesName, info.gr, ns, names,
                                   metricSelector);
  } catch (const rules::SelectorError& e) {
    throw StatusError::badRequest(std::string("metricLabelSelector: ") + e.what());
  } catch (const std::exception& e) {
    throw StatusError::internal(entry.rule->context + ": cannot build the query: " + e.what());
  }
}

// Two samples for one object means the query does not aggregate by the
// object's label: picking one (even the only finite one) would report an
// arbitrary number. Checked before NaN/Inf samples are dropped.
void requireOneSamplePerObject(const std::vector<Sample>& samples, const std::string& label,
                               const rules::CatalogEntry& entry, const rules::ResourceInfo& info) {
  std::vector<std::string_view> seen;
  for (const auto& s : samples) {
    auto it = s.labels.find(label);
    if (it != s.labels.end() && !it->second.empty()) seen.push_back(it->second);
  }
  std::sort(seen.begin(), seen.end());
  if (auto dup = std::adjacent_find(seen.begin(), seen.end()); dup != seen.end()) {
    throw StatusError::internal(entry.rule->context + ": the query returned several samples for " +
                                info.gr.str() + " \"" + std::string(*dup) +
                                "\"; metricsQuery must aggregate by the object label, e.g. "
                                "sum(...) by (<<.GroupBy>>)");
  }
}

struct Values {
  std::vector<apiservice::ObjectMetricValue> values;
  size_t dropped = 0;  // NaN or Inf samples
};

// The finite samples of the objects asked for (the query may match more,
// e.g. a regex over a namespace's pods), sorted by object name.
Values valuesOf(std::vector<Sample>& samples, const std::string& label,
                const std::vector<std::string>& names, const rules::ResourceInfo& info,
                const apiservice::ObjectMetricRequest& req) {
  std::string apiVersion = info.gr.group.empty() ? "/" + info.version : info.groupVersion();
  Values out;
  for (auto& s : samples) {
    auto it = s.labels.find(label);
    if (it == s.labels.end() || it->second.empty()) continue;
    if (!names.empty() && !std::binary_search(names.begin(), names.end(), it->second)) continue;
    if (!std::isfinite(s.value)) {
      ++out.dropped;
      continue;
    }
    apiservice::DescribedObject obj{info.kind, info.namespaced ? req.ns : "", it->second,
                                    apiVersion};
    out.values.push_back({std::move(obj), req.metric, s.value, s.timestampMs});
  }
  std::sort(out.values.begin(), out.values.end(),
            [](const auto& a, const auto& b) { return a.object.name < b.object.name; });
  return out;
}

}  // namespace

CustomRulesProvider::CustomRulesProvider(const ServingState& state, PrometheusApi& backend,
                                         const common::Clock& clock, common::Logger& log,
                                         ObjectLister* objects)
    : state_(state), backend_(backend), clock_(clock), log_(log), objects_(objects) {}

std::vector<apiservice::CustomMetricDescriptor> CustomRulesProvider::listCustomMetrics() const {
  std::vector<apiservice::CustomMetricDescriptor> out;
  auto snap = state_.current();
  if (!snap) return out;
  out.reserve(snap->catalog.customMetrics().size());
  for (const auto& m : snap->catalog.customMetrics())
    out.push_back({m.resource.gr.str(), m.namespaced, m.metric});
  return out;
}

bool CustomRulesProvider::servesCustomMetric(const std::string& resource,
                                             const std::string& metric) const {
  auto snap = state_.current();
  if (!snap) return false;
  auto info = snap->rules->mapper().resolve(resource);
  return info && snap->catalog.findCustom(info->gr, metric) != nullptr;
}

common::Task<std::vector<std::string>> CustomRulesProvider::requestedNames(
    const apiservice::ObjectMetricRequest& req, const rules::ResourceInfo& info,
    const common::RequestContext& ctx) const {
  if (req.name != "*") co_return std::vector<std::string>{req.name};
  if (!objects_) co_return std::vector<std::string>{};  // every object with series
  ObjectQuery oq{&info, info.namespaced ? req.ns : "",
                 parseRequestSelector(req.labelSelector, "labelSelector"), req.labelSelector,
                 false};
  std::vector<std::string> names = co_await objects_->names(oq, ctx);
  if (names.empty()) {
    throw StatusError::notFound(
        "no " + info.gr.str() + " match" +
        (req.labelSelector.empty() ? "" : " labelSelector \"" + req.labelSelector + "\"") +
        (req.ns.empty() ? "" : " in namespace \"" + req.ns + "\"") +
        ", so there is no value of metric \"" + req.metric + "\" to report");
  }
  co_return names;
}

common::Task<std::vector<apiservice::ObjectMetricValue>> CustomRulesProvider::getObjectMetric(
    const apiservice::ObjectMetricRequest& req, const common::RequestContext& ctx) const {
  auto snap = currentSnapshot(state_);
  rules::ResourceInfo info = resolveResource(*snap, req);
  const rules::CatalogEntry& entry = findEntry(*snap, info, req.metric);
  if (req.name == "*" && !req.labelSelector.empty() && !objects_) {
    throw StatusError::badRequest(
        "labelSelector on objects needs a Kubernetes connection to list them; this adapter runs "
        "with --standalone");
  }
  rules::LabelSelector metricSelector =
      parseRequestSelector(req.metricLabelSelector, "metricLabelSelector");
  std::vector<std::string> names = co_await requestedNames(req, info, ctx);
  rules::CustomQuery q = buildQuery(entry, info, req.ns, names, metricSelector);
  std::vector<Sample> samples = co_await runQuery(backend_, clock_, log_, q.promql, ctx);
  requireOneSamplePerObject(samples, q.resourceLabel, entry, info);
  Values v = valuesOf(samples, q.resourceLabel, names, info, req);
  if (v.dropped)
    log_.v(2, "dropped non-finite samples",
           {{"metric", req.metric}, {"count", std::to_string(v.dropped)}});
  if (req.name != "*" && v.values.empty()) {
    throw StatusError::notFound("no value for metric \"" + req.metric + "\" on " + info.gr.str() +
                                " \"" + req.name + "\"" +
                                (req.ns.empty() ? "" : " in namespace \"" + req.ns + "\"") +
                                (v.dropped ? " (its sample was NaN or infinite)"
                                           : " (the query returned no sample for it)"));
  }
  co_return std::move(v.values);
}

}  // namespace adapter
