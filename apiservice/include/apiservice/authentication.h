// Delegated authentication, as kube-apiserver's extension API servers do
// it: a front-proxy client certificate with X-Remote-* headers, a client
// certificate signed by the client CA, or a bearer token reviewed by
// kube-apiserver (TokenReview). Anything else is 401.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apiservice/certificate_pool.h"
#include "apiservice/http_types.h"
#include "apiservice/lru_cache.h"
#include "apiservice/review_transport.h"
#include "common/clock.h"
#include "common/coro.h"
#include "common/published.h"
#include "common/request_context.h"
#include "common/single_flight.h"

namespace apiservice {

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
};

// Front-proxy settings: from --requestheader-* flags or kube-apiserver's
// kube-system/extension-apiserver-authentication ConfigMap.
struct RequestHeaderConfig {
  std::shared_ptr<const CertificatePool> clientCA;  // null: front-proxy authentication is off
  std::vector<std::string> allowedNames;            // empty: any certificate the CA signed
  std::vector<std::string> usernameHeaders{"X-Remote-User"};
  std::vector<std::string> uidHeaders;
  std::vector<std::string> groupHeaders{"X-Remote-Group"};
  std::vector<std::string> extraHeaderPrefixes{"X-Remote-Extra-"};
};

struct AuthenticationConfig {
  RequestHeaderConfig requestHeader;
  std::shared_ptr<const CertificatePool> clientCA;  // null: client certificates name no user
};

struct AuthenticatorOptions {
  int64_t tokenCacheTtlMs = 10000;  // --authentication-token-webhook-cache-ttl
  size_t maxCacheEntries = 10000;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The user a request comes from. Throws StatusError: 401 when no
  // credential proves one (the message says why, for the log; clients
  // see only "Unauthorized"), 503 when a token cannot be reviewed now.
  virtual common::Task<UserInfo> authenticate(const HttpRequest& req,
                                              const common::RequestContext& ctx) const = 0;
};

class DelegatingAuthenticator final : public Authenticator {
 public:
  // `tokenReviews` may be null: bearer tokens are then refused.
  DelegatingAuthenticator(ReviewTransport* tokenReviews, const common::Clock& clock,
                          AuthenticatorOptions opts);
  // Swaps the settings atomically; requests in flight finish with the old.
  void setConfig(AuthenticationConfig cfg);
  AuthenticationConfig config() const { return config_.load()->cfg; }
  common::Task<UserInfo> authenticate(const HttpRequest& req,
                                      const common::RequestContext& ctx) const override;
  // TokenReviews sent so far (cache misses).
  uint64_t reviewsSent() const { return reviewsSent_.load(); }

 private:
  struct Verdict {
    std::optional<VerifiedClient> client;
    std::string error;
  };
  struct TokenVerdict {
    std::optional<UserInfo> user;
    std::string error;
  };
  Verdict verify(const CertificatePool& pool, char which, uint64_t generation,
                 const std::vector<std::string>& chain) const;
  std::optional<UserInfo> fromRequestHeaders(const HttpRequest& req, const RequestHeaderConfig& cfg,
                                             uint64_t generation,
                                             std::vector<std::string>& errors) const;
  common::Task<UserInfo> fromToken(const std::string& token,
                                   const common::RequestContext& ctx) const;
  // Sends one TokenReview (identical concurrent ones share it).
  common::Task<TokenVerdict> review(const std::string& token,
                                    common::RequestContext::Clock::time_point deadline) const;

  ReviewTransport* tokenReviews_;
  const common::Clock& clock_;
  AuthenticatorOptions opts_;
  // Verdicts are cached per settings generation, so a rotated CA never
  // honours an old verdict.
  struct Active {
    AuthenticationConfig cfg;
    uint64_t generation = 0;
  };
  common::Published<Active> config_;
  std::atomic<uint64_t> generations_{0};
  mutable LruCache<Verdict> certCache_;
  mutable LruCache<TokenVerdict> tokenCache_;
  mutable common::SingleFlight<TokenVerdict> tokenFlights_;
  mutable std::atomic<uint64_t> reviewsSent_{0};
};

}  // namespace apiservice
