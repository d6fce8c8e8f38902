// kubeconfig files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapter/kube/kube_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  try {
    adapter::parseKubeconfig(in, "/fuzz/kubeconfig");
  } catch (const adapter::KubeConfigError&) {
  }
  return 0;
}
