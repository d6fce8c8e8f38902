// A CA bundle, and verification of client certificate chains against it
// as Kubernetes does it (Go's x509.Verify with ExtKeyUsageClientAuth).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace apiservice {

struct VerifiedClient {
  std::string commonName;                  // the user: the subject's last CN, as in Go
  std::vector<std::string> organizations;  // the groups: every O, in order
  int64_t notAfterUnix = 0;                // when the leaf expires
};

class CertificatePool {
 public:
  // Parses one or more PEM certificates; `source` names them in errors.
  // Throws std::runtime_error when there is no usable certificate.
  static std::shared_ptr<const CertificatePool> fromPem(const std::string& pem,
                                                        const std::string& source);
  ~CertificatePool();
  CertificatePool(const CertificatePool&) = delete;
  CertificatePool& operator=(const CertificatePool&) = delete;

  // Verifies `derChain` (leaf first, then intermediates) up to any
  // certificate of this pool, self-signed or not (as Go does), for client
  // authentication; nullopt with the reason in `whyNot`.
  std::optional<VerifiedClient> verify(const std::vector<std::string>& derChain,
                                       std::string* whyNot) const;
  const std::string& source() const { return source_; }
  size_t size() const { return count_; }

 private:
  CertificatePool() = default;
  struct Store;
  std::unique_ptr<Store> store_;
  std::string source_;
  size_t count_ = 0;
};

}  // namespace apiservice
