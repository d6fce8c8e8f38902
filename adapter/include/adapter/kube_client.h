// The Kubernetes API seam: GET, POST and streamed GET (watch) against
// kube-apiserver, with its credentials and a client-side rate limit.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "adapter/http_client.h"
#include "adapter/kube_config.h"
#include "adapter/rate_limiter.h"
#include "apiservice/review_transport.h"

namespace adapter {

// kube-apiserver could not be reached (httpStatus 0), refused the request
// (its HTTP status), or answered garbage.
class KubeError : public std::runtime_error {
 public:
  explicit KubeError(const std::string& msg, int httpStatus = 0)
      : std::runtime_error(msg), httpStatus_(httpStatus) {}
  int httpStatus() const { return httpStatus_; }

 private:
  int httpStatus_;
};

struct KubeReply {
  int status = 0;
  std::string body;
};

class KubeApi {
 public:
  virtual ~KubeApi() = default;
  // Throw KubeError on transport failures; any HTTP status is returned.
  virtual KubeReply get(const std::string& path) = 0;
  virtual KubeReply post(const std::string& path, const std::string& jsonBody) = 0;
  // A GET whose body is read as it arrives (LIST pages, watch streams).
  virtual int stream(
      const std::string& path, std::chrono::milliseconds timeout, CancelToken* cancel,
      const std::function<void(int status, HttpClient::BodyReader& read)>& onBody) = 0;
  // "in-cluster" or the kubeconfig, for messages.
  virtual const std::string& source() const = 0;
};

struct KubeClientOptions {
  double qps = 20;
  int burst = 40;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

class KubeClient final : public KubeApi {
 public:
  KubeClient(KubeConnection conn, KubeClientOptions opts);
  KubeReply get(const std::string& path) override;
  KubeReply post(const std::string& path, const std::string& jsonBody) override;
  int stream(const std::string& path, std::chrono::milliseconds timeout, CancelToken* cancel,
             const std::function<void(int, HttpClient::BodyReader&)>& onBody) override;
  const std::string& source() const override { return conn_.source; }

 private:
  ClientRequest request(const std::string& method, const std::string& path);
  std::string authorization();
  KubeConnection conn_;
  KubeClientOptions opts_;
  RateLimiter limiter_;
  HttpClient http_;
  std::mutex tokenMu_;
  std::string tokenStamp_;
  std::string tokenHeader_;
};

// TokenReviews and SubjectAccessReviews sent through a KubeApi.
class KubeReviewTransport final : public apiservice::ReviewTransport {
 public:
  explicit KubeReviewTransport(KubeApi& api) : api_(api) {}
  apiservice::ReviewReply post(const std::string& path, const std::string& jsonBody) override {
    KubeReply r = api_.post(path, jsonBody);
    return {r.status, std::move(r.body)};
  }

 private:
  KubeApi& api_;
};

}  // namespace adapter
