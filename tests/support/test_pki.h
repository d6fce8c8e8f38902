// Certificates for tests: a CA and the leaves it signs (server, client,
// front-proxy), as PEM and DER, made with OpenSSL in memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace testsupport {

struct CertOptions {
  CertOptions(std::string cn = "", std::vector<std::string> orgs = {})  // NOLINT
      : commonName(std::move(cn)), organizations(std::move(orgs)) {}
  std::string commonName;
  std::vector<std::string> organizations;
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
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;
  const std::string& pem() const { return pem_; }
  KeyPair issue(const CertOptions& opts) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string pem_;
};

}  // namespace testsupport
