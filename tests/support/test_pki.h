// Certificates for tests: a CA and the leaves it signs (server, client,
// front-proxy), as PEM and DER, made with OpenSSL in memory.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace testsupport {

struct CertOptions {
  CertOptions(std::string cn = "", std::vector<std::string> orgs = {})  // NOLINT
      : commonName(std::move(cn)), organizations(std::move(orgs)) {}
  std::string commonName;
  std::vector<std::string> organizations;
  // When set, the subject's attributes in this order (e.g. {"CN", "a"}),
  // instead of the organizations then the common name above.
  std::vector<std::pair<std::string, std::string>> subject;
  std::vector<std::string> dnsNames;  // subject alternative names
  std::vector<std::string> ipAddresses;
  bool serverAuth = false;
  bool clientAuth = true;
  long validSeconds = 3600;
  long notBeforeOffset = -60;  // relative to now
};

struct KeyPair {
  std::string certPem;
  std::string keyPem;
  std::string certDer;
};

class TestCa {
 public:
  explicit TestCa(const std::string& commonName);
  // An intermediate CA that `issuer` signs.
  TestCa(const std::string& commonName, const TestCa& issuer);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;
  const std::string& pem() const { return pem_; }
  const std::string& der() const { return der_; }
  KeyPair issue(const CertOptions& opts) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string pem_;
  std::string der_;
};

}  // namespace testsupport
