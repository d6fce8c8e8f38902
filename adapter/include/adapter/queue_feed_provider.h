// External metrics from the queue-stats feed, in front of the rules-based
// provider: the feed's metric names are answered from its latest snapshot
// (no Prometheus scrape in between); everything else goes to `inner`.
#pragma once

#include "adapter/clock.h"
#include "adapter/feed_source.h"
#include "apiservice/metrics_provider.h"

namespace adapter {

class QueueFeedProvider final : public apiservice::MetricsProvider {
 public:
  // `address` names the feed in errors.
  QueueFeedProvider(const apiservice::MetricsProvider& inner, const FeedSource& feed,
                    std::string address, std::chrono::milliseconds maxAge, const Clock& clock);

  std::vector<apiservice::CustomMetricDescriptor> listCustomMetrics() const override {
    return inner_.listCustomMetrics();
  }
  std::vector<apiservice::ObjectMetricValue> getObjectMetric(
      const apiservice::ObjectMetricRequest& req) const override {
    return inner_.getObjectMetric(req);
  }
  // The rules' external metrics plus the feed's (a feed name hides a rule
  // of the same name).
  std::vector<std::string> listExternalMetrics() const override;
  // The feed's series matching the selector. The namespace is not a label
  // of queue measurements, so any namespace sees them (as an external rule
  // with `namespaced: false`). 503 when there is no data yet or a matching
  // value is older than --queue-stats-max-age.
  std::vector<apiservice::ExternalMetricValue> getExternalMetric(
      const apiservice::ExternalMetricRequest& req) const override;

 private:
  const apiservice::MetricsProvider& inner_;
  const FeedSource& feed_;
  std::string address_;
  int64_t maxAgeMs_;
  const Clock& clock_;
};

}  // namespace adapter
