#include "common/secret_file.h"

#include "common/file_stamp.h"

namespace common {

std::string SecretFile::read() const {
  std::string stamp = fileStamp(path_);
  std::lock_guard lock(mu_);
  if (stamp.empty() || stamp != stamp_) {
    auto s = readWholeFile(path_);
    if (!s) throw SecretFileError("cannot read " + path_);
    while (!s->empty() && (s->back() == '\n' || s->back() == '\r' || s->back() == ' '))
      s->pop_back();
    value_ = std::move(*s);
    stamp_ = stamp;
  }
  return value_;
}

}  // namespace common
