// The feed's TLS files (--queue-stats-ca-file, -client-cert, -client-key):
// read and checked together, and re-read when one of them changes, so a
// rotated certificate applies from the next connection on.
#pragma once

#include <string>

namespace adapter {

struct TlsMaterial {
  std::string caPem;    // empty: the system's roots
  std::string certPem;  // empty: no client certificate
  std::string keyPem;
};

class TlsFiles {
 public:
  TlsFiles(std::string caFile, std::string certFile, std::string keyFile);
  bool enabled() const { return !caFile_.empty() || !certFile_.empty(); }
  // Changes whenever one of the files is rewritten or replaced (a
  // Kubernetes secret update swaps a symlink): mtime, size, inode.
  std::string stamp() const;
  // Throws std::runtime_error naming the file: unreadable, not PEM, or a
  // key that is not the certificate's.
  TlsMaterial load() const;

 private:
  std::string caFile_, certFile_, keyFile_;
};

}  // namespace adapter
