// An upstream over HTTPS: certificate verification always on, our own
// bearer token (re-read when it rotates) or client certificate, a timeout
// per call within the request's deadline, a bound on calls in flight and
// on answer size. A changed CA, certificate or key file is loaded at the
// next discovery; files that do not load leave the previous ones in use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapter/upstream/upstream_options.h"
#include "adapter/upstream/upstream_server.h"
#include "common/async_http_client.h"
#include "common/async_semaphore.h"
#include "common/http_client.h"
#include "common/logger.h"
#include "common/published.h"
#include "common/secret_file.h"

namespace adapter {

class HttpsUpstream final : public UpstreamServer {
 public:
  // Throws std::invalid_argument naming the URL when it is not https, or
  // HttpClientError when its TLS files cannot be loaded. `log` (may be
  // null) hears of reloaded TLS files.
  HttpsUpstream(const UpstreamOptions& o, const UpstreamsOptions& limits,
                common::Logger* log = nullptr);
  const std::string& name() const override { return options_.url; }
  apiservice::MetricsApi api() const override { return options_.api; }
  common::Task<common::ClientResponse> get(const std::string& target,
                                           const common::RequestContext& ctx) const override;
  std::vector<ListedMetric> discover(const std::string& version,
                                     common::CancelToken* cancel) const override;

 private:
  // Both clients over the same TLS files, replaced together.
  struct Clients {
    Clients(const UpstreamOptions& o, const UpstreamsOptions& limits);
    mutable common::HttpClient discovery;   // the discovery thread's
    mutable common::AsyncHttpClient async;  // the request path's
  };
  std::vector<std::pair<std::string, std::string>> headers() const;
  std::string tlsStamp() const;
  void reloadTlsIfChanged() const;  // the discovery thread only
  UpstreamOptions options_;
  UpstreamsOptions limits_;
  common::Logger* log_;
  std::unique_ptr<common::SecretFile> token_;  // null: no bearer token
  mutable common::Published<Clients> clients_;
  mutable std::string loadedStamp_;  // of the files clients_ uses
  mutable common::AsyncSemaphore inflight_;
};

}  // namespace adapter
