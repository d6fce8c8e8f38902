// An upstream over HTTPS: certificate verification always on, our own
// bearer token (re-read when it rotates) or client certificate, a timeout
// per call within the request's deadline, a bound on calls in flight and
// on answer size.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapter/upstream/upstream_options.h"
#include "adapter/upstream/upstream_server.h"
#include "common/async_http_client.h"
#include "common/async_semaphore.h"
#include "common/http_client.h"
#include "common/secret_file.h"

namespace adapter {

class HttpsUpstream final : public UpstreamServer {
 public:
  // Throws std::invalid_argument naming the URL when it is not https or
  // its TLS files cannot be loaded.
  HttpsUpstream(const UpstreamOptions& o, const UpstreamsOptions& limits);
  const std::string& name() const override { return name_; }
  apiservice::MetricsApi api() const override { return api_; }
  common::Task<common::ClientResponse> get(const std::string& target,
                                           const common::RequestContext& ctx) const override;
  std::vector<ListedMetric> discover(const std::string& version,
                                     common::CancelToken* cancel) const override;

 private:
  std::vector<std::pair<std::string, std::string>> headers() const;
  std::string name_;
  apiservice::MetricsApi api_;
  std::chrono::milliseconds timeout_;
  uint64_t maxResponseBytes_;
  std::unique_ptr<common::SecretFile> token_;  // null: no bearer token
  mutable common::HttpClient discovery_;       // the discovery thread's
  mutable common::AsyncHttpClient async_;      // the request path's
  mutable common::AsyncSemaphore inflight_;
};

}  // namespace adapter
