// The serving certificate: loaded from files (and reloaded when they
// change) or self-signed into a directory. New connections use the newest.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/logger.h"

namespace apiservice {

class TlsCredentials {
 public:
  // Throws std::runtime_error naming the file when the pair cannot be used.
  // With `requestClientCertificates`, the handshake asks for (but does not
  // require or verify) a client certificate; authenticators verify it
  // against CAs that may change while connections are open.
  TlsCredentials(std::string certFile, std::string keyFile, common::Logger& log,
                 bool requestClientCertificates = false);

  // Writes apiserver.crt / apiserver.key into `dir` unless both exist, with
  // the given DNS names and IP addresses as subject alternative names.
  // Returns the (cert, key) paths.
  static std::pair<std::string, std::string> ensureSelfSigned(
      const std::filesystem::path& dir, const std::vector<std::string>& hosts);

  std::shared_ptr<boost::asio::ssl::context> context() const;
  // Reloads when either file changed; a broken new pair is logged and the
  // old one keeps serving. Returns true when a new pair was loaded.
  bool reloadIfChanged();
  const std::string& certFile() const { return certFile_; }

 private:
  std::shared_ptr<boost::asio::ssl::context> load() const;
  std::string fingerprint() const;
  std::string certFile_;
  std::string keyFile_;
  common::Logger& log_;
  bool requestClientCertificates_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::string loadedFingerprint_;
};

}  // namespace apiservice
