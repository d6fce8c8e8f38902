// Request targets: paths, percent-encoding and query strings, as routed
// and as authorization reads them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "apiservice/request_info.h"
#include "apiservice/router.h"
#include "apiservice/status.h"
#include "run_task.h"

namespace {
class NullProvider : public apiservice::CustomMetricsProvider,
                     public apiservice::ExternalMetricsProvider {
 public:
  std::vector<apiservice::CustomMetricDescriptor> listCustomMetrics() const override {
    return {{"pods", true, "m"}};
  }
  bool servesCustomMetric(const std::string&, const std::string&) const override { return true; }
  common::Task<std::vector<apiservice::ObjectMetricValue>> getObjectMetric(
      const apiservice::ObjectMetricRequest& r, const common::RequestContext&) const override {
    co_return std::vector<apiservice::ObjectMetricValue>{
        {{"Pod", r.ns, r.name, "/v1"}, r.metric, 1.5, 0}};
  }
  std::vector<std::string> listExternalMetrics() const override { return {"q"}; }
  bool servesExternalMetric(const std::string&) const override { return true; }
  common::Task<std::vector<apiservice::ExternalMetricValue>> getExternalMetric(
      const apiservice::ExternalMetricRequest& r, const common::RequestContext&) const override {
    co_return std::vector<apiservice::ExternalMetricValue>{
        {r.metric, {{"a", r.labelSelector}}, 2, 0}};
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static NullProvider provider;
  static const common::SystemClock clock;
  static apiservice::Router router({&provider, &provider, nullptr}, {}, "v0.1.0", {}, clock);
  apiservice::HttpRequest req;
  req.method = "GET";
  req.target.assign(reinterpret_cast<const char*>(data), size);
  auto res = mocks::run(router.handle(req, mocks::farDeadline()));
  if (res.status < 200 || res.status > 599) __builtin_trap();
  // The attributes authorization would see for the same target.
  try {
    auto attrs = apiservice::requestAttributes("GET", req.target);
    if (attrs.resourceRequest && attrs.verb.empty()) __builtin_trap();
  } catch (const apiservice::StatusError& e) {
    if (e.code() != 400) __builtin_trap();
  }
  return 0;
}
