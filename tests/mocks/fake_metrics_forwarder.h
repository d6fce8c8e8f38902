// A forwarder, scripted: what the upstreams list, and the outcome every
// forwarded request gets. Records every forwarded name.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "apiservice/metrics_forwarder.h"

namespace mocks {

class FakeMetricsForwarder final : public apiservice::MetricsForwarder {
 public:
  std::vector<std::string> external;
  std::map<std::string, std::vector<apiservice::CustomMetricDescriptor>> custom;  // by version
  apiservice::ForwardOutcome outcome;  // what every forward gets

  std::vector<std::string> forwarded() const {
    std::lock_guard lock(mu_);
    return forwarded_;
  }

  std::vector<std::string> upstreamExternalMetrics() const override { return external; }
  std::vector<apiservice::CustomMetricDescriptor> upstreamCustomMetrics(
      const std::string& version) const override {
    auto it = custom.find(version);
    return it == custom.end() ? std::vector<apiservice::CustomMetricDescriptor>{} : it->second;
  }
  common::Task<apiservice::ForwardOutcome> forward(apiservice::MetricsApi, const std::string&,
                                                   const std::string& name,
                                                   const apiservice::HttpRequest& req,
                                                   const common::RequestContext&) const override {
    {
      std::lock_guard lock(mu_);
      forwarded_.push_back(name + " " + req.target);
    }
    co_return outcome;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<std::string> forwarded_;
};

}  // namespace mocks
