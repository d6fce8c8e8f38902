// API discovery documents: APIVersions, APIGroupList, APIResourceList.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapter/kube/kube_discovery.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  try {
    adapter::parseApiVersions(in);
  } catch (const adapter::KubeError&) {
  }
  try {
    adapter::parseApiGroupList(in);
  } catch (const adapter::KubeError&) {
  }
  try {
    for (const auto& r : adapter::parseApiResourceList(in, "g.example.com", "v1"))
      if (r.gr.resource.empty() || r.gr.resource.find('/') != std::string::npos) __builtin_trap();
  } catch (const adapter::KubeError&) {
  }
  return 0;
}
