// The Kubernetes API client: GET, POST and streamed GET (watch) against
// kube-apiserver, with its credentials and a client-side rate limit.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "adapter/kube/kube_api.h"
#include "adapter/kube/kube_config.h"
#include "adapter/kube/rate_limiter.h"
#include "apiservice/review_transport.h"
#include "common/async_http_client.h"
#include "common/http_client.h"

namespace adapter {

struct KubeClientOptions {
  double qps = 20;
  int burst = 40;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // How long a request-path call may queue for the rate limit before it
  // fails instead (a flood of unknown tokens must not pile up).
  std::chrono::milliseconds maxRateLimitWait{1000};
};

class KubeClient final : public KubeApi {
 public:
  KubeClient(KubeConnection conn, KubeClientOptions opts);
  KubeReply get(const std::string& path) override;
  KubeReply post(const std::string& path, const std::string& jsonBody) override;
  int stream(const std::string& path, std::chrono::milliseconds timeout,
             common::CancelToken* cancel,
             const std::function<void(int, common::HttpClient::BodyReader&)>& onBody) override;
  common::Task<KubeReply> send(const std::string& method, const std::string& path,
                               const std::string& jsonBody,
                               const common::RequestContext& ctx) override;
  const std::string& source() const override { return conn_.source; }

 private:
  common::ClientRequest request(const std::string& method, const std::string& path);
  std::string authorization();
  KubeConnection conn_;
  KubeClientOptions opts_;
  RateLimiter limiter_;
  common::HttpClient http_;        // background threads (discovery, watches)
  common::AsyncHttpClient async_;  // the request path
  std::mutex tokenMu_;
  std::string tokenStamp_;
  std::string tokenHeader_;
};

// TokenReviews and SubjectAccessReviews sent through a KubeApi.
class KubeReviewTransport final : public apiservice::ReviewTransport {
 public:
  explicit KubeReviewTransport(KubeApi& api) : api_(api) {}
  common::Task<apiservice::ReviewReply> post(const std::string& path, const std::string& jsonBody,
                                             const common::RequestContext& ctx) override {
    const std::string method = "POST";  // named: see coro.h
    KubeReply r = co_await api_.send(method, path, jsonBody, ctx);
    co_return apiservice::ReviewReply{r.status, std::move(r.body)};
  }

 private:
  KubeApi& api_;
};

}  // namespace adapter
