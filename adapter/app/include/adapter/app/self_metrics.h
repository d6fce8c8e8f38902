// The adapter's own metrics (/metrics), via prometheus-cpp.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "adapter/feed/feed_source.h"
#include "adapter/prometheus/prometheus_api.h"
#include "adapter/prometheus/relister.h"

namespace adapter {

class SelfMetrics {
 public:
  SelfMetrics();
  std::string text() const;  // Prometheus text exposition

  void observeRequest(const std::string& route, int code, double seconds);
  void observeBackend(const std::string& call, double seconds, bool ok);
  void observeRelist(const RelistReport& report);
  // --metrics-relist-interval, so alerts can say "no success in 3 intervals".
  void setRelistInterval(std::chrono::milliseconds interval);
  // One forwarded request; `code` is "error" when the upstream did not answer.
  void observeUpstream(const std::string& upstream, const std::string& code, double seconds);
  void observeReload(bool ok, uint64_t generation, double unixSeconds);
  // Filled in just before each scrape.
  void onCollect(std::function<void(SelfMetrics&)> hook) { collectHook_ = std::move(hook); }
  void setCachedObjects(const std::string& resource, size_t objects);
  // Totals so far (kept as counters: only the increase is added).
  void setReviewsSent(uint64_t tokenReviews, uint64_t accessReviews);
  void setQueueStatsFeed(const FeedStatus& status, double lastUpdateUnixSeconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& requestLatency_;
  prometheus::Family<prometheus::Histogram>& backendLatency_;
  prometheus::Family<prometheus::Counter>& backendErrors_;
  prometheus::Histogram& relistDuration_;
  prometheus::Counter& relistFailures_;
  prometheus::Gauge& lastRelistSuccess_;
  prometheus::Gauge& relistInterval_;
  prometheus::Gauge& catalogSeries_;
  prometheus::Family<prometheus::Gauge>& catalogMetrics_;
  prometheus::Gauge& configGeneration_;
  prometheus::Gauge& lastReloadSuccess_;
  prometheus::Gauge& lastReloadTime_;
  prometheus::Family<prometheus::Gauge>& cachedObjects_;
  prometheus::Counter& tokenReviews_;
  prometheus::Counter& accessReviews_;
  prometheus::Family<prometheus::Gauge>& feedConnected_;
  prometheus::Family<prometheus::Gauge>& feedLastUpdate_;
  prometheus::Family<prometheus::Counter>& feedUpdates_;
  prometheus::Family<prometheus::Counter>& feedReconnects_;
  prometheus::Family<prometheus::Counter>& upstreamRequests_;
  prometheus::Family<prometheus::Histogram>& upstreamLatency_;
  std::function<void(SelfMetrics&)> collectHook_;
  std::mutex reviewsMu_;  // scrapes may run concurrently
};

// Wraps a backend to time every call and count its failures.
class InstrumentedPrometheusApi final : public PrometheusApi {
 public:
  InstrumentedPrometheusApi(PrometheusApi& inner, SelfMetrics& metrics)
      : inner_(inner), metrics_(metrics) {}
  void series(const std::string& match, int64_t startMs, int64_t endMs,
              const SeriesVisitor& visit) override;
  common::Task<std::vector<Sample>> query(const std::string& promql, int64_t timeMs,
                                          const common::RequestContext& ctx) override;

 private:
  PrometheusApi& inner_;
  SelfMetrics& metrics_;
};

}  // namespace adapter
