#include "adapter/providers/queue_feed_source.h"

#include <algorithm>

#include "adapter/providers/query_execution.h"
#include "apiservice/status.h"

namespace adapter {

using apiservice::StatusError;

QueueFeedSource::QueueFeedSource(const FeedSource& feed, std::string address,
                                 std::chrono::milliseconds maxAge, const common::Clock& clock)
    : feed_(feed), address_(std::move(address)), maxAgeMs_(maxAge.count()), clock_(clock) {}

bool QueueFeedSource::servesExternalMetric(const std::string& metric) const {
  const auto& names = feedMetricNames();
  return std::find(names.begin(), names.end(), metric) != names.end();
}

std::vector<std::string> QueueFeedSource::listExternalMetrics() const { return feedMetricNames(); }

common::Task<std::vector<apiservice::ExternalMetricValue>> QueueFeedSource::getExternalMetric(
    const apiservice::ExternalMetricRequest& req, const common::RequestContext&) const {
  co_return answer(req);  // from memory: nothing to wait for
}

std::vector<apiservice::ExternalMetricValue> QueueFeedSource::answer(
    const apiservice::ExternalMetricRequest& req) const {
  if (!servesExternalMetric(req.metric))
    throw StatusError::notFound("queue-stats does not measure \"" + req.metric + "\"");
  rules::LabelSelector selector = parseRequestSelector(req.labelSelector, "labelSelector");
  auto data = feed_.current();
  if (!data) {
    FeedStatus st = feed_.status();
    throw StatusError::unavailable("no data from queue-stats at " + address_ + " yet" +
                                   (st.lastError.empty() ? "" : ": " + st.lastError));
  }
  std::vector<apiservice::ExternalMetricValue> out;
  auto it = data->metrics.find(req.metric);
  if (it == data->metrics.end()) return out;
  const int64_t now = clock_.nowMillis();
  for (const auto& s : it->second) {
    if (!rules::selectorMatches(selector, s.labels)) continue;
    // Part of a sum must not be left out, nor an old value passed off as
    // current: the whole answer is refused.
    refuseIfNotCurrent(req.metric, s, now);
    out.push_back({req.metric, s.labels, s.value, s.collectedAtMs});
  }
  return out;
}

void QueueFeedSource::refuseIfNotCurrent(const std::string& metric, const FeedSeries& s,
                                         int64_t now) const {
  if (!s.stale && now - s.collectedAtMs <= maxAgeMs_) return;
  std::string what;
  for (const auto& [k, v] : s.labels) what += (what.empty() ? "" : ",") + k + "=" + v;
  const std::string series = metric + "{" + what + "}";
  if (s.stale)
    throw StatusError::unavailable(series +
                                   " is stale: queue-stats reports it cannot measure it now (its "
                                   "last value is older than queue-stats' staleAfter)");
  FeedStatus st = feed_.status();
  throw StatusError::unavailable(
      series + " was measured " + std::to_string((now - s.collectedAtMs) / 1000) +
      " s ago, older than --queue-stats-max-age (" + std::to_string(maxAgeMs_ / 1000) + " s); " +
      (st.connected ? "queue-stats is not collecting it"
                    : "the feed from " + address_ + " is down: " + st.lastError));
}

}  // namespace adapter
