#include "adapter/upstream/upstream_options.h"

namespace adapter {

std::string apiName(apiservice::MetricsApi api) {
  return api == apiservice::MetricsApi::Custom ? "custom" : "external";
}

}  // namespace adapter
