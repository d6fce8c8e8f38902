// A pull reader ("fill this buffer, return the byte count, 0 at the end")
// as an std::streambuf, so nlohmann's SAX parser reads an HTTP body as it
// arrives instead of from one buffered string.
#pragma once

#include <cstddef>
#include <functional>
#include <streambuf>

namespace common {

using BodyReadFn = std::function<size_t(char* buf, size_t len)>;

class ReaderStreamBuf : public std::streambuf {
 public:
  explicit ReaderStreamBuf(const BodyReadFn& read) : read_(read) {}

 protected:
  int_type underflow() override {
    size_t n = read_(buf_, sizeof buf_);
    if (n == 0) return traits_type::eof();
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  const BodyReadFn& read_;
  char buf_[1 << 16];
};

}  // namespace common
