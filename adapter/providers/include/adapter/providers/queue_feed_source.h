// External metrics from the queue-stats feed, first in the external chain:
// the feed's metric names are answered from its latest snapshot (no
// Prometheus scrape in between); a feed name hides a rule of the same name.
#pragma once

#include <chrono>
#include <string>

#include "adapter/feed/feed_source.h"
#include "adapter/providers/external_source.h"
#include "common/clock.h"

namespace adapter {

class QueueFeedSource final : public ExternalMetricsSource {
 public:
  // `address` names the feed in errors.
  QueueFeedSource(const FeedSource& feed, std::string address, std::chrono::milliseconds maxAge,
                  const common::Clock& clock);

  // The feed's names, listed while the feed is configured (data or not).
  bool servesExternalMetric(const std::string& metric) const override;
  std::vector<std::string> listExternalMetrics() const override;
  // The feed's series matching the selector. The namespace is not a label
  // of queue measurements, so any namespace sees them (as an external rule
  // with `namespaced: false`). 503 when there is no data yet, or a matching
  // value is older than --queue-stats-max-age (in the adapter's clock) or
  // reported stale by queue-stats.
  common::Task<std::vector<apiservice::ExternalMetricValue>> getExternalMetric(
      const apiservice::ExternalMetricRequest& req,
      const common::RequestContext& ctx) const override;

 private:
  std::vector<apiservice::ExternalMetricValue> answer(
      const apiservice::ExternalMetricRequest& req) const;
  // Throws 503 naming the series when it is stale or too old.
  void refuseIfNotCurrent(const std::string& metric, const FeedSeries& s, int64_t now) const;
  const FeedSource& feed_;
  std::string address_;
  int64_t maxAgeMs_;
  const common::Clock& clock_;
};

}  // namespace adapter
