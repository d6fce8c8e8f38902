// One server we forward to: the request path's call and the background
// discovery. The seam the forwarder and the catalog are tested through.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "adapter/upstream/listed_metrics.h"
#include "apiservice/metrics_forwarder.h"
#include "common/coro.h"
#include "common/http_client.h"
#include "common/request_context.h"

namespace adapter {

// The upstream did not answer: timeout, connection or TLS failure, an
// answer over the size limit, or too many calls in flight. The message
// names the upstream.
class UpstreamUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UpstreamServer {
 public:
  virtual ~UpstreamServer() = default;
  virtual const std::string& name() const = 0;  // its URL
  virtual apiservice::MetricsApi api() const = 0;
  // GET `target` (path and query exactly as received) as ourselves.
  // Throws UpstreamUnavailable, or RequestAborted when the request's own
  // deadline passes or its client leaves.
  virtual common::Task<common::ClientResponse> get(const std::string& target,
                                                   const common::RequestContext& ctx) const = 0;
  // /apis/{group}/{version}: blocking, for the discovery thread. Throws
  // UpstreamUnavailable or DiscoveryFormatError.
  // A version the upstream does not serve (404) lists nothing. `cancel`
  // (may be null) stops the call from another thread.
  virtual std::vector<ListedMetric> discover(const std::string& version,
                                             common::CancelToken* cancel) const = 0;
};

}  // namespace adapter
