// Requests for metrics we do not serve, forwarded to the upstreams of
// their API: to the first whose discovery lists the name, or, for a name
// none has listed, to each in turn until one answers other than 404. The
// answer comes back as the upstream gave it; an upstream that does not
// answer is a 503 naming it, never an empty list.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "adapter/upstream/upstream_catalog.h"
#include "adapter/upstream/upstream_server.h"
#include "apiservice/metrics_forwarder.h"

namespace adapter {

class UpstreamForwarder final : public apiservice::MetricsForwarder {
 public:
  // Each call: the upstream, the answer's code ("error" when none), seconds.
  using Observe =
      std::function<void(const std::string& upstream, const std::string& code, double seconds)>;
  // `servers` in the order given; they and `catalog` outlive the forwarder.
  UpstreamForwarder(std::vector<const UpstreamServer*> servers, const UpstreamCatalog& catalog,
                    Observe observe);

  std::vector<std::string> upstreamExternalMetrics() const override;
  std::vector<apiservice::CustomMetricDescriptor> upstreamCustomMetrics(
      const std::string& version) const override;
  common::Task<apiservice::ForwardOutcome> forward(
      apiservice::MetricsApi api, const std::string& version, const std::string& name,
      const apiservice::HttpRequest& req, const common::RequestContext& ctx) const override;

 private:
  // The upstream's answer, or why there is none (UpstreamUnavailable's
  // message, naming it); RequestAborted passes through.
  struct Answer {
    std::optional<apiservice::HttpResponse> response;
    std::string failure;
  };
  common::Task<Answer> call(const UpstreamServer& s, const apiservice::HttpRequest& req,
                            const common::RequestContext& ctx) const;
  std::vector<ListedMetric> listed(apiservice::MetricsApi api, const std::string& version) const;
  std::vector<const UpstreamServer*> servers_;
  const UpstreamCatalog& catalog_;
  Observe observe_;
};

}  // namespace adapter
