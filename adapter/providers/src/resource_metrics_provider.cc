#include "adapter/providers/resource_metrics_provider.h"

#include <cmath>
#include <map>
#include <set>

#include "adapter/providers/query_execution.h"
#include "apiservice/status.h"
#include "rules/query_builder.h"

namespace adapter {

using apiservice::StatusError;

namespace {

const rules::GroupResource kPods{"", "pods"};
const rules::GroupResource kNodes{"", "nodes"};

struct Reading {
  double value = 0;
  int64_t timestampMs = 0;
};

// Readings per object name, and per container within it for pods.
using ByObject = std::map<std::string, std::map<std::string, Reading>>;

const rules::ResourceInfo& resourceInfo(const rules::RuleSet& rules,
                                        const rules::GroupResource& gr) {
  static const rules::ResourceInfo pods{kPods, "Pod", "pod", "v1", true, {"po"}};
  static const rules::ResourceInfo nodes{kNodes, "Node", "node", "v1", false, {"no"}};
  (void)rules;
  return gr == kPods ? pods : nodes;
}

}  // namespace

PrometheusResourceMetrics::PrometheusResourceMetrics(const ServingState& state,
                                                     PrometheusApi& backend,
                                                     const common::Clock& clock,
                                                     common::Logger& log, ObjectLister* objects)
    : state_(state), backend_(backend), clock_(clock), log_(log), objects_(objects) {}

bool PrometheusResourceMetrics::servesResourceMetrics() const {
  auto snap = state_.current();
  return snap && snap->rules->resource().has_value();
}

namespace {

const rules::CompiledResourceRules& resourceRules(const Snapshot& snap) {
  if (!snap.rules->resource())
    throw StatusError::notFound("metrics.k8s.io is not served: the config has no resourceRules");
  return *snap.rules->resource();
}

// Without NaN, infinite or negative readings (and objects left with none).
ByObject usable(ByObject all, common::Logger& log) {
  size_t dropped = 0;
  for (auto obj = all.begin(); obj != all.end();) {
    dropped += std::erase_if(obj->second, [](const auto& kv) {
      return !std::isfinite(kv.second.value) || kv.second.value < 0;
    });
    obj = obj->second.empty() ? all.erase(obj) : std::next(obj);
  }
  if (dropped)
    log.v(2, "dropped NaN, infinite or negative resource samples",
          {{"count", std::to_string(dropped)}});
  return all;
}

// Files one sample under its object and container; a second sample for
// the same one means the query does not aggregate by them.
void file(ByObject& out, const std::string& object, const std::string& container, const Reading& r,
          const char* resource, bool pods) {
  auto [it, fresh] = out[object].try_emplace(container, r);
  if (fresh) return;
  std::string who =
      pods ? "pod \"" + object + "\" container \"" + container + "\"" : "node \"" + object + "\"";
  throw StatusError::internal(
      std::string("resourceRules.") + resource + ": the query returned several samples for " + who +
      "; " + (pods ? "containerQuery" : "nodeQuery") +
      " must aggregate by the object and container labels, e.g. sum(...) by (<<.GroupBy>>)");
}

// Runs one of the two queries and files every usable sample under its
// object (and container); NaN, Inf and negative readings are left out.
common::Task<ByObject> collect(PrometheusApi& backend, const common::Clock& clock,
                               common::Logger& log, const rules::CompiledResourceQuery& q,
                               bool pods, const std::string& ns,
                               const std::vector<std::string>& names, const char* resource,
                               const common::RequestContext& ctx) {
  const rules::GroupResource& gr = pods ? kPods : kNodes;
  rules::CustomQuery built;
  try {
    built = rules::buildObjectQuery(
        pods ? q.containerQuery : q.nodeQuery, q.resources, "", gr, ns, names, {},
        pods ? std::vector<std::string>{q.containerLabel} : std::vector<std::string>{});
  } catch (const std::exception& e) {
    throw StatusError::internal(std::string("resourceRules: cannot build the query: ") + e.what());
  }
  ByObject all;  // every sample, usable or not: duplicates are checked first
  for (auto& s : co_await runQuery(backend, clock, log, built.promql, ctx)) {
    auto obj = s.labels.find(built.resourceLabel);
    if (obj == s.labels.end() || obj->second.empty()) continue;
    std::string container;
    if (pods) {
      auto c = s.labels.find(q.containerLabel);
      if (c == s.labels.end() || c->second.empty()) continue;
      container = c->second;
    }
    file(all, obj->second, container, Reading{s.value, s.timestampMs}, resource, pods);
  }
  co_return usable(std::move(all), log);
}

int64_t earliest(int64_t a, int64_t b) { return a == 0 ? b : std::min(a, b); }

}  // namespace

common::Task<std::vector<apiservice::NodeMetricsItem>> PrometheusResourceMetrics::nodeMetrics(
    const std::string& name, const std::string& labelSelector,
    const common::RequestContext& ctx) const {
  auto snap = currentSnapshot(state_);
  const auto& rr = resourceRules(*snap);
  std::vector<ObjectSummary> nodes;
  std::vector<std::string> names;
  if (objects_) {
    ObjectQuery oq{&resourceInfo(*snap->rules, kNodes), "",
                   parseRequestSelector(labelSelector, "labelSelector"), labelSelector, false};
    for (auto& n : co_await objects_->objects(oq, ctx)) {
      if (!name.empty() && n.name != name) continue;
      names.push_back(n.name);
      nodes.push_back(std::move(n));
    }
    if (names.empty()) co_return std::vector<apiservice::NodeMetricsItem>{};
  } else {
    if (!labelSelector.empty())
      throw StatusError::badRequest(
          "labelSelector on nodes needs a Kubernetes connection (--standalone)");
    if (!name.empty()) names.push_back(name);
  }
  const std::string clusterWide;  // named: see coro.h
  ByObject cpu =
      co_await collect(backend_, clock_, log_, rr.cpu, false, clusterWide, names, "cpu", ctx);
  ByObject mem =
      co_await collect(backend_, clock_, log_, rr.memory, false, clusterWide, names, "memory", ctx);
  if (!objects_) {
    for (const auto& [n, r] : cpu) nodes.push_back({"", n, {}});
  }
  std::vector<apiservice::NodeMetricsItem> out;
  for (const auto& n : nodes) {
    auto c = cpu.find(n.name);
    auto m = mem.find(n.name);
    // A node without both readings is left out, as metrics-server does.
    if (c == cpu.end() || m == mem.end()) continue;
    const Reading& cr = c->second.begin()->second;
    const Reading& mr = m->second.begin()->second;
    out.push_back({n.name, n.labels, std::min(cr.timestampMs, mr.timestampMs), rr.windowSeconds,
                   cr.value, mr.value});
  }
  co_return out;
}

common::Task<std::vector<apiservice::PodMetricsItem>> PrometheusResourceMetrics::podMetrics(
    const std::string& ns, const std::string& name, const std::string& labelSelector,
    const common::RequestContext& ctx) const {
  auto snap = currentSnapshot(state_);
  const auto& rr = resourceRules(*snap);
  // Pods per namespace: one pair of queries per namespace, as pod names
  // repeat across namespaces.
  std::map<std::string, std::vector<ObjectSummary>> byNs;
  if (objects_) {
    ObjectQuery oq{&resourceInfo(*snap->rules, kPods), ns,
                   parseRequestSelector(labelSelector, "labelSelector"), labelSelector, true};
    for (auto& p : co_await objects_->objects(oq, ctx)) {
      if (!name.empty() && p.name != name) continue;
      byNs[p.ns].push_back(std::move(p));
    }
  } else {
    if (!labelSelector.empty())
      throw StatusError::badRequest(
          "labelSelector on pods needs a Kubernetes connection (--standalone)");
    if (ns.empty())
      throw StatusError::badRequest(
          "listing pod metrics across namespaces needs a Kubernetes connection (--standalone)");
    byNs[ns];  // every pod with series
  }
  std::vector<apiservice::PodMetricsItem> out;
  for (auto& [podNs, pods] : byNs) {
    std::vector<std::string> names;
    for (const auto& p : pods) names.push_back(p.name);
    if (objects_ && names.empty()) continue;
    if (!objects_ && !name.empty()) names.push_back(name);
    ByObject cpu = co_await collect(backend_, clock_, log_, rr.cpu, true, podNs, names, "cpu", ctx);
    ByObject mem =
        co_await collect(backend_, clock_, log_, rr.memory, true, podNs, names, "memory", ctx);
    if (!objects_) {
      for (const auto& [n, r] : cpu) pods.push_back({podNs, n, {}});
    }
    for (const auto& p : pods) {
      auto c = cpu.find(p.name);
      auto m = mem.find(p.name);
      // As metrics-server and prometheus-adapter: a pod needs both.
      if (c == cpu.end() || m == mem.end()) continue;
      apiservice::PodMetricsItem item{p.ns, p.name, p.labels, 0, rr.windowSeconds, {}};
      std::set<std::string> containers;
      for (const auto& [cn, r] : c->second) containers.insert(cn);
      for (const auto& [cn, r] : m->second) containers.insert(cn);
      for (const auto& cn : containers) {
        apiservice::ContainerUsage u{cn, std::nullopt, std::nullopt};
        if (auto it = c->second.find(cn); it != c->second.end()) {
          u.cpuCores = it->second.value;
          item.timestampMs = earliest(item.timestampMs, it->second.timestampMs);
        }
        if (auto it = m->second.find(cn); it != m->second.end()) {
          u.memoryBytes = it->second.value;
          item.timestampMs = earliest(item.timestampMs, it->second.timestampMs);
        }
        item.containers.push_back(std::move(u));
      }
      out.push_back(std::move(item));
    }
  }
  co_return out;
}

}  // namespace adapter
