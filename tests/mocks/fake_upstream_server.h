// An upstream server, scripted: answers by request target (anything else
// gets a 404 Status), what its discovery lists per version, or a failure
// (down: every call throws UpstreamUnavailable). Records every call.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "adapter/upstream/upstream_server.h"
#include "apiservice/status.h"

namespace mocks {

class FakeUpstreamServer final : public adapter::UpstreamServer {
 public:
  FakeUpstreamServer(std::string name, apiservice::MetricsApi api)
      : name_(std::move(name)), api_(api) {}

  void answer(const std::string& target, int status, std::string body) {
    std::lock_guard lock(mu_);
    answers_.insert_or_assign(target, common::ClientResponse{status, "application/json", body});
  }
  void list(const std::string& version, std::vector<adapter::ListedMetric> metrics) {
    std::lock_guard lock(mu_);
    lists_.insert_or_assign(version, std::move(metrics));
  }
  // Empty: up again.
  void fail(std::string message) {
    std::lock_guard lock(mu_);
    failure_ = std::move(message);
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

  const std::string& name() const override { return name_; }
  apiservice::MetricsApi api() const override { return api_; }
  common::Task<common::ClientResponse> get(const std::string& target,
                                           const common::RequestContext&) const override {
    co_return respond(target);
  }
  std::vector<adapter::ListedMetric> discover(const std::string& version,
                                              common::CancelToken*) const override {
    std::lock_guard lock(mu_);
    calls_.push_back("discover " + version);
    if (!failure_.empty()) throw adapter::UpstreamUnavailable(name_ + ": " + failure_);
    auto it = lists_.find(version);
    return it == lists_.end() ? std::vector<adapter::ListedMetric>{} : it->second;
  }

 private:
  common::ClientResponse respond(const std::string& target) const {
    std::lock_guard lock(mu_);
    calls_.push_back("GET " + target);
    if (!failure_.empty()) throw adapter::UpstreamUnavailable(name_ + ": " + failure_);
    auto it = answers_.find(target);
    if (it != answers_.end()) return it->second;
    return {404, "application/json",
            apiservice::statusJson(404, "NotFound", name_ + " does not serve " + target)};
  }
  std::string name_;
  apiservice::MetricsApi api_;
  mutable std::mutex mu_;
  std::map<std::string, common::ClientResponse> answers_;
  std::map<std::string, std::vector<adapter::ListedMetric>> lists_;
  std::string failure_;
  mutable std::vector<std::string> calls_;
};

}  // namespace mocks
