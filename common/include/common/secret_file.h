// A credential in a file that rotates (projected service-account tokens,
// mounted Secrets): a stat per use, a read only when the file changed.
#pragma once

#include <mutex>
#include <stdexcept>
#include <string>

namespace common {

class SecretFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SecretFile {
 public:
  explicit SecretFile(std::string path) : path_(std::move(path)) {}
  SecretFile(const SecretFile&) = delete;
  SecretFile& operator=(const SecretFile&) = delete;

  const std::string& path() const { return path_; }
  // The content without trailing whitespace; throws SecretFileError when
  // the file cannot be read.
  std::string read() const;

 private:
  std::string path_;
  mutable std::mutex mu_;
  mutable std::string stamp_;
  mutable std::string value_;
};

}  // namespace common
