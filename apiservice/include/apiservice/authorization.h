// Delegated authorization, as kube-apiserver's extension API servers do
// it: system:masters may do anything, everyone else is asked about with a
// SubjectAccessReview, and each answer is remembered for a while.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "apiservice/authentication.h"
#include "apiservice/lru_cache.h"
#include "apiservice/request_info.h"
#include "apiservice/review_transport.h"
#include "common/clock.h"
#include "common/coro.h"
#include "common/request_context.h"
#include "common/single_flight.h"

namespace apiservice {

struct Decision {
  bool allowed = false;
  std::string reason;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // Throws StatusError 503 when kube-apiserver cannot answer now.
  virtual common::Task<Decision> authorize(const UserInfo& user, const RequestAttributes& attrs,
                                           const common::RequestContext& ctx) const = 0;
};

struct AuthorizerOptions {
  int64_t allowedTtlMs = 10000;  // --authorization-webhook-cache-authorized-ttl
  int64_t deniedTtlMs = 10000;   // --authorization-webhook-cache-unauthorized-ttl
  std::vector<std::string> alwaysAllowGroups{"system:masters"};
  size_t maxCacheEntries = 10000;
};

class DelegatingAuthorizer final : public Authorizer {
 public:
  DelegatingAuthorizer(ReviewTransport& reviews, const common::Clock& clock,
                       AuthorizerOptions opts);
  common::Task<Decision> authorize(const UserInfo& user, const RequestAttributes& attrs,
                                   const common::RequestContext& ctx) const override;
  // How many SubjectAccessReviews were sent (the benchmark checks the warm
  // path sends none).
  uint64_t reviewsSent() const { return reviewsSent_.load(); }

 private:
  ReviewTransport& reviews_;
  const common::Clock& clock_;
  AuthorizerOptions opts_;
  // Sends one SubjectAccessReview (identical concurrent ones share it).
  common::Task<Decision> review(const std::string& body,
                                common::RequestContext::Clock::time_point deadline) const;
  mutable LruCache<Decision> cache_;
  mutable common::SingleFlight<Decision> flights_;
  mutable std::atomic<uint64_t> reviewsSent_{0};
};

// The SubjectAccessReview spec for a request, as kube-apiserver's webhook
// authorizer sends it (exposed for tests).
std::string subjectAccessReviewJson(const UserInfo& user, const RequestAttributes& attrs);

// kube-apiserver's wording of a denial: who may not do what, and why.
std::string forbiddenMessage(const UserInfo& user, const RequestAttributes& attrs,
                             const std::string& reason);

}  // namespace apiservice
