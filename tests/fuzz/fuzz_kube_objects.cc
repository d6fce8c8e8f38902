// kube-apiserver answers: LIST pages (streamed), watch events and Status
// bodies, with and without ConfigMap data.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapter/kube/kube_objects.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  bool keepData = size > 0 && (data[0] & 1);
  size_t pos = 0;
  auto read = [&](char* buf, size_t len) {
    size_t n = std::min({len, in.size() - pos, size_t{13}});
    in.copy(buf, n, pos);
    pos += n;
    return n;
  };
  try {
    adapter::parseListPage(200, read, keepData);
  } catch (const adapter::KubeError&) {
  }
  try {
    adapter::parseWatchEvent(in, keepData);
  } catch (const adapter::KubeError&) {
  }
  adapter::parseStatus(in);
  return 0;
}
