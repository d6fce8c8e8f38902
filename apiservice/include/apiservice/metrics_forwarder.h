// The seam to the servers that owned the metrics APIs before us (KEDA's
// metrics server, the Datadog Cluster Agent, prometheus-adapter): what
// they list, and a request for a metric we do not serve, forwarded to
// them as it came.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apiservice/custom_metrics_provider.h"
#include "apiservice/http_types.h"
#include "common/coro.h"
#include "common/request_context.h"

namespace apiservice {

enum class MetricsApi { Custom, External };

// A forwarded request's outcome: an upstream's answer, or none when every
// upstream asked answered 404 (`asked` names them, for the 404 we give).
struct ForwardOutcome {
  std::optional<HttpResponse> answer;
  std::vector<std::string> asked;
};

class MetricsForwarder {
 public:
  virtual ~MetricsForwarder() = default;
  // What the upstreams' last discoveries listed (no I/O).
  virtual std::vector<std::string> upstreamExternalMetrics() const = 0;
  virtual std::vector<CustomMetricDescriptor> upstreamCustomMetrics(
      const std::string& version) const = 0;
  // `name`: the metric as discovery lists it ("s0-kafka-orders",
  // "pods/http_requests"). The request's path and query go out unchanged;
  // a timeout or connection failure is a 503 answer naming the upstream.
  virtual common::Task<ForwardOutcome> forward(MetricsApi api, const std::string& version,
                                               const std::string& name, const HttpRequest& req,
                                               const common::RequestContext& ctx) const = 0;
};

}  // namespace apiservice
