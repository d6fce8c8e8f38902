// One link of the external metrics chain, scripted: names it claims (listed,
// servesExternalMetric true) with their answer or error, names it answers
// only when asked (unclaimed), and what any other name gets (404 naming
// this source unless failUnknown() says otherwise). Records every request.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapter/providers/external_source.h"
#include "apiservice/status.h"

namespace mocks {

class FakeExternalSource final : public adapter::ExternalMetricsSource {
 public:
  explicit FakeExternalSource(std::string name = "fake source") : name_(std::move(name)) {}

  // Claims `metric` and answers `values` (an empty metric name in a value
  // becomes the requested one).
  void claim(const std::string& metric, std::vector<apiservice::ExternalMetricValue> values) {
    script(metric, Answer{true, std::move(values), std::nullopt});
  }
  // Claims `metric` and throws `error` when asked for it.
  void claimFailing(const std::string& metric, const apiservice::StatusError& error) {
    script(metric, Answer{true, {}, error});
  }
  // Does not claim or list `metric`, but answers `values` when asked.
  void answerUnclaimed(const std::string& metric,
                       std::vector<apiservice::ExternalMetricValue> values) {
    script(metric, Answer{false, std::move(values), std::nullopt});
  }
  // What names with no script get (default: 404 naming this source).
  void failUnknown(const apiservice::StatusError& error) {
    std::lock_guard<std::mutex> lock(mu_);
    unknown_ = error;
  }

  std::vector<apiservice::ExternalMetricRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  bool servesExternalMetric(const std::string& metric) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = answers_.find(metric);
    return it != answers_.end() && it->second.claimed;
  }
  std::vector<std::string> listExternalMetrics() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [metric, a] : answers_)
      if (a.claimed) out.push_back(metric);
    return out;
  }
  common::Task<std::vector<apiservice::ExternalMetricValue>> getExternalMetric(
      const apiservice::ExternalMetricRequest& req, const common::RequestContext&) const override {
    co_return answer(req);
  }

 private:
  std::vector<apiservice::ExternalMetricValue> answer(
      const apiservice::ExternalMetricRequest& req) const {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req);
    auto it = answers_.find(req.metric);
    if (it == answers_.end()) {
      if (unknown_) throw *unknown_;
      throw apiservice::StatusError::notFound(name_ + " does not serve \"" + req.metric + "\"");
    }
    if (it->second.error) throw *it->second.error;
    auto out = it->second.values;
    for (auto& v : out)
      if (v.metric.empty()) v.metric = req.metric;
    return out;
  }

  struct Answer {
    bool claimed = true;
    std::vector<apiservice::ExternalMetricValue> values;
    std::optional<apiservice::StatusError> error;
  };
  void script(const std::string& metric, Answer a) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.insert_or_assign(metric, std::move(a));
  }
  std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, Answer> answers_;
  std::optional<apiservice::StatusError> unknown_;
  mutable std::vector<apiservice::ExternalMetricRequest> requests_;
};

}  // namespace mocks
