// The Kubernetes API seam: GET, POST and streamed GET (watch) against
// kube-apiserver (kube_client.h talks to a real one; tests use a fake).
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include "common/coro.h"
#include "common/http_client.h"
#include "common/request_context.h"

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
  // On the request path (reviews, LISTs for a label selector): a coroutine
  // bounded by `ctx`. Throws KubeError, or common::RequestAborted.
  virtual common::Task<KubeReply> send(const std::string& method, const std::string& path,
                                       const std::string& jsonBody,
                                       const common::RequestContext& ctx) = 0;
  // A GET whose body is read as it arrives (LIST pages, watch streams).
  virtual int stream(
      const std::string& path, std::chrono::milliseconds timeout, common::CancelToken* cancel,
      const std::function<void(int status, common::HttpClient::BodyReader& read)>& onBody) = 0;
  // "in-cluster" or the kubeconfig, for messages.
  virtual const std::string& source() const = 0;
};

}  // namespace adapter
