// metrics.k8s.io (kubectl top, CPU and memory HPAs): the seam between the
// router and whatever measures pods and nodes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/coro.h"
#include "common/request_context.h"

namespace apiservice {

// A resource with no measurement is absent, never zero.
struct ContainerUsage {
  std::string name;
  std::optional<double> cpuCores;
  std::optional<double> memoryBytes;
};

struct PodMetricsItem {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> labels;
  int64_t timestampMs = 0;
  int64_t windowSeconds = 0;
  std::vector<ContainerUsage> containers;
};

struct NodeMetricsItem {
  std::string name;
  std::map<std::string, std::string> labels;
  int64_t timestampMs = 0;
  int64_t windowSeconds = 0;
  double cpuCores = 0;
  double memoryBytes = 0;
};

class ResourceMetricsProvider {
 public:
  virtual ~ResourceMetricsProvider() = default;
  // Whether the current config has resourceRules; the group is served
  // (and listed in discovery) only then.
  virtual bool servesResourceMetrics() const = 0;
  // `name` empty: every node matching `labelSelector`.
  virtual common::Task<std::vector<NodeMetricsItem>> nodeMetrics(
      const std::string& name, const std::string& labelSelector,
      const common::RequestContext& ctx) const = 0;
  // `ns` empty: every namespace; `name` empty: every running pod matching
  // `labelSelector`.
  virtual common::Task<std::vector<PodMetricsItem>> podMetrics(
      const std::string& ns, const std::string& name, const std::string& labelSelector,
      const common::RequestContext& ctx) const = 0;
};

}  // namespace apiservice
