// TokenReview and SubjectAccessReview replies from kube-apiserver, and the
// client certificate chains the authenticators verify.
#include <cstddef>
#include <cstdint>
#include <string>

#include "apiservice/authentication.h"
#include "apiservice/authorization.h"
#include "apiservice/status.h"
#include "run_task.h"
#include "test_pki.h"

namespace {
class Replay : public apiservice::ReviewTransport {
 public:
  std::string body;
  common::Task<apiservice::ReviewReply> post(const std::string&, const std::string&,
                                             const common::RequestContext&) override {
    co_return apiservice::ReviewReply{201, body};
  }
};
class Frozen : public common::Clock {
 public:
  int64_t t = 0;
  int64_t nowMillis() const override { return t; }
  int64_t monotonicMillis() const override { return t; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  Replay replay;
  replay.body = in;
  Frozen clock;
  clock.t = static_cast<int64_t>(size) * 1000000;  // each input misses the caches
  // A real CA, so chains that verify are reachable too.
  static const testsupport::TestCa ca("fuzz-ca");
  static const std::string caPem = ca.pem();
  apiservice::DelegatingAuthenticator authn(&replay, clock, {10000, 16});
  apiservice::AuthenticationConfig cfg;
  try {
    cfg.clientCA = apiservice::CertificatePool::fromPem(caPem, "fuzz-ca");
  } catch (const std::exception&) {
  }
  authn.setConfig(cfg);
  apiservice::HttpRequest req;
  req.headers.emplace("authorization", "Bearer fuzz");
  try {
    mocks::run(authn.authenticate(req, mocks::farDeadline()));
  } catch (const apiservice::StatusError& e) {
    if (e.code() != 401 && e.code() != 503) __builtin_trap();
  }
  // The same bytes as a certificate chain (split at the first 0xff).
  apiservice::HttpRequest certReq;
  auto chain = std::make_shared<std::vector<std::string>>();
  size_t cut = in.find('\xff');
  chain->push_back(in.substr(0, cut));
  if (cut != std::string::npos) chain->push_back(in.substr(cut + 1));
  certReq.peerCertificates = chain;
  try {
    mocks::run(authn.authenticate(certReq, mocks::farDeadline()));
  } catch (const apiservice::StatusError& e) {
    if (e.code() != 401) __builtin_trap();
  }
  apiservice::DelegatingAuthorizer authz(replay, clock, {});
  try {
    mocks::run(
        authz.authorize({"u", "", {"g"}, {}},
                        apiservice::requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/nodes"),
                        mocks::farDeadline()));
  } catch (const apiservice::StatusError& e) {
    if (e.code() != 503) __builtin_trap();
  }
  return 0;
}
