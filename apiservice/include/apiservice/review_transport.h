// How TokenReview and SubjectAccessReview objects reach kube-apiserver:
// the adapter implements it with its Kubernetes client.
#pragma once

#include <stdexcept>
#include <string>

#include "common/coro.h"
#include "common/request_context.h"

namespace apiservice {

struct ReviewReply {
  int status = 0;
  std::string body;
};

class ReviewTransport {
 public:
  virtual ~ReviewTransport() = default;
  // POSTs a JSON object to `path` (e.g. /apis/authentication.k8s.io/v1/tokenreviews).
  // Throws std::runtime_error when kube-apiserver cannot be reached, or
  // common::RequestAborted when `ctx` ends first.
  virtual common::Task<ReviewReply> post(const std::string& path, const std::string& jsonBody,
                                         const common::RequestContext& ctx) = 0;
};

}  // namespace apiservice
