// Request targets: paths, percent-encoding and query strings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "apiservice/router.h"

namespace {
class NullProvider : public apiservice::MetricsProvider {
 public:
  std::vector<apiservice::CustomMetricDescriptor> listCustomMetrics() const override {
    return {{"pods", true, "m"}};
  }
  std::vector<apiservice::ObjectMetricValue> getObjectMetric(
      const apiservice::ObjectMetricRequest& r) const override {
    return {{{"Pod", r.ns, r.name, "/v1"}, r.metric, 1.5, 0}};
  }
  std::vector<std::string> listExternalMetrics() const override { return {"q"}; }
  std::vector<apiservice::ExternalMetricValue> getExternalMetric(
      const apiservice::ExternalMetricRequest& r) const override {
    return {{r.metric, {{"a", r.labelSelector}}, 2, 0}};
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static NullProvider provider;
  static apiservice::Router router(provider, {}, "v0.1.0");
  apiservice::HttpRequest req;
  req.method = "GET";
  req.target.assign(reinterpret_cast<const char*>(data), size);
  auto res = router.handle(req);
  if (res.status < 200 || res.status > 599) __builtin_trap();
  return 0;
}
