#include "adapter/app/self_metrics.h"

#include <prometheus/text_serializer.h>

#include <chrono>

namespace adapter {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

namespace {
// Counters mirror totals kept elsewhere: only the increase is added.
void raiseTo(prometheus::Counter& c, uint64_t total) {
  double delta = static_cast<double>(total) - c.Value();
  if (delta > 0) c.Increment(delta);
}
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}  // namespace

SelfMetrics::SelfMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(BuildCounter()
                    .Name("metrics_adapter_http_requests_total")
                    .Help("API requests by route and HTTP status code.")
                    .Register(*registry_)),
      requestLatency_(BuildHistogram()
                          .Name("metrics_adapter_http_request_duration_seconds")
                          .Help("API request latency by route.")
                          .Register(*registry_)),
      backendLatency_(BuildHistogram()
                          .Name("metrics_adapter_backend_request_duration_seconds")
                          .Help("Prometheus API call latency by call (query, series).")
                          .Register(*registry_)),
      backendErrors_(BuildCounter()
                         .Name("metrics_adapter_backend_errors_total")
                         .Help("Failed Prometheus API calls by call (query, series).")
                         .Register(*registry_)),
      relistDuration_(
          BuildHistogram()
              .Name("metrics_adapter_relist_duration_seconds")
              .Help("Duration of metric discovery (all /series calls and the catalog build).")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10,
                                                               30, 60})),
      relistFailures_(BuildCounter()
                          .Name("metrics_adapter_relist_failures_total")
                          .Help("Failed metric discoveries; the previous catalog keeps serving.")
                          .Register(*registry_)
                          .Add({})),
      lastRelistSuccess_(BuildGauge()
                             .Name("metrics_adapter_relist_last_success_timestamp_seconds")
                             .Help("When metric discovery last succeeded.")
                             .Register(*registry_)
                             .Add({})),
      relistInterval_(BuildGauge()
                          .Name("metrics_adapter_relist_interval_seconds")
                          .Help("How often metric discovery runs (--metrics-relist-interval).")
                          .Register(*registry_)
                          .Add({})),
      catalogSeries_(BuildGauge()
                         .Name("metrics_adapter_catalog_series")
                         .Help("Series seen by the last successful discovery.")
                         .Register(*registry_)
                         .Add({})),
      catalogMetrics_(BuildGauge()
                          .Name("metrics_adapter_catalog_metrics")
                          .Help("Metrics served, by API (custom counts resource/metric pairs).")
                          .Register(*registry_)),
      configGeneration_(
          BuildGauge()
              .Name("metrics_adapter_config_generation")
              .Help("Generation of the config in use; each successful reload adds one.")
              .Register(*registry_)
              .Add({})),
      lastReloadSuccess_(
          BuildGauge()
              .Name("metrics_adapter_config_last_reload_successful")
              .Help("1 when the last config (re)load succeeded, 0 when it was rejected.")
              .Register(*registry_)
              .Add({})),
      lastReloadTime_(BuildGauge()
                          .Name("metrics_adapter_config_last_reload_timestamp_seconds")
                          .Help("When the config was last (re)loaded or rejected.")
                          .Register(*registry_)
                          .Add({})),
      cachedObjects_(BuildGauge()
                         .Name("metrics_adapter_object_cache_objects")
                         .Help("Objects held by the watch-fed cache, by resource.")
                         .Register(*registry_)),
      tokenReviews_(BuildCounter()
                        .Name("metrics_adapter_token_reviews_total")
                        .Help("TokenReviews sent to kube-apiserver (bearer-token cache misses).")
                        .Register(*registry_)
                        .Add({})),
      accessReviews_(
          BuildCounter()
              .Name("metrics_adapter_access_reviews_total")
              .Help("SubjectAccessReviews sent to kube-apiserver (authorization cache misses).")
              .Register(*registry_)
              .Add({})),
      feedConnected_(BuildGauge()
                         .Name("metrics_adapter_queue_stats_feed_connected")
                         .Help("1 while the queue-stats feed stream is open.")
                         .Register(*registry_)),
      feedLastUpdate_(BuildGauge()
                          .Name("metrics_adapter_queue_stats_feed_last_update_timestamp_seconds")
                          .Help("When the last queue-stats snapshot arrived.")
                          .Register(*registry_)),
      feedUpdates_(BuildCounter()
                       .Name("metrics_adapter_queue_stats_feed_updates_total")
                       .Help("Snapshots received from queue-stats.")
                       .Register(*registry_)),
      feedReconnects_(BuildCounter()
                          .Name("metrics_adapter_queue_stats_feed_reconnects_total")
                          .Help("Times the queue-stats feed stream ended and was reopened.")
                          .Register(*registry_)),
      upstreamRequests_(
          BuildCounter()
              .Name("metrics_adapter_upstream_requests_total")
              .Help("Requests forwarded to an upstream, by upstream and its answer's HTTP status "
                    "code (\"error\": no answer: timeout, connection or TLS failure).")
              .Register(*registry_)),
      upstreamLatency_(BuildHistogram()
                           .Name("metrics_adapter_upstream_request_duration_seconds")
                           .Help("Latency of requests forwarded to an upstream, by upstream.")
                           .Register(*registry_)) {}

void SelfMetrics::setQueueStatsFeed(const FeedStatus& status, double lastUpdateUnixSeconds) {
  std::lock_guard<std::mutex> lock(reviewsMu_);
  feedConnected_.Add({}).Set(status.connected ? 1 : 0);
  feedLastUpdate_.Add({}).Set(lastUpdateUnixSeconds);
  raiseTo(feedUpdates_.Add({}), status.updates);
  raiseTo(feedReconnects_.Add({}), status.reconnects);
}

std::string SelfMetrics::text() const {
  if (collectHook_) collectHook_(const_cast<SelfMetrics&>(*this));
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void SelfMetrics::setCachedObjects(const std::string& resource, size_t objects) {
  cachedObjects_.Add({{"resource", resource}}).Set(static_cast<double>(objects));
}

void SelfMetrics::setReviewsSent(uint64_t tokenReviews, uint64_t accessReviews) {
  std::lock_guard<std::mutex> lock(reviewsMu_);
  raiseTo(tokenReviews_, tokenReviews);
  raiseTo(accessReviews_, accessReviews);
}

void SelfMetrics::observeRequest(const std::string& route, int code, double seconds) {
  requests_.Add({{"route", route}, {"code", std::to_string(code)}}).Increment();
  requestLatency_.Add({{"route", route}}, kLatencyBuckets).Observe(seconds);
}

void SelfMetrics::observeBackend(const std::string& call, double seconds, bool ok) {
  backendLatency_.Add({{"call", call}}, kLatencyBuckets).Observe(seconds);
  if (!ok) backendErrors_.Add({{"call", call}}).Increment();
}

void SelfMetrics::observeUpstream(const std::string& upstream, const std::string& code,
                                  double seconds) {
  upstreamRequests_.Add({{"upstream", upstream}, {"code", code}}).Increment();
  upstreamLatency_.Add({{"upstream", upstream}}, kLatencyBuckets).Observe(seconds);
}

void SelfMetrics::observeRelist(const RelistReport& r) {
  relistDuration_.Observe(r.seconds);
  if (!r.ok) {
    relistFailures_.Increment();
    return;
  }
  lastRelistSuccess_.SetToCurrentTime();
  catalogSeries_.Set(static_cast<double>(r.series));
  catalogMetrics_.Add({{"api", "custom"}}).Set(static_cast<double>(r.customMetrics));
  catalogMetrics_.Add({{"api", "external"}}).Set(static_cast<double>(r.externalMetrics));
}

void SelfMetrics::setRelistInterval(std::chrono::milliseconds interval) {
  relistInterval_.Set(std::chrono::duration<double>(interval).count());
}

void SelfMetrics::observeReload(bool ok, uint64_t generation, double unixSeconds) {
  lastReloadSuccess_.Set(ok ? 1 : 0);
  lastReloadTime_.Set(unixSeconds);
  if (ok) configGeneration_.Set(static_cast<double>(generation));
}

namespace {
template <class F>
auto timed(SelfMetrics& m, const char* call, F&& f) {
  auto start = std::chrono::steady_clock::now();
  auto secs = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      m.observeBackend(call, secs(), true);
    } else {
      auto r = f();
      m.observeBackend(call, secs(), true);
      return r;
    }
  } catch (...) {
    m.observeBackend(call, secs(), false);
    throw;
  }
}
}  // namespace

void InstrumentedPrometheusApi::series(const std::string& match, int64_t startMs, int64_t endMs,
                                       const SeriesVisitor& visit) {
  timed(metrics_, "series", [&] { inner_.series(match, startMs, endMs, visit); });
}

common::Task<std::vector<Sample>> InstrumentedPrometheusApi::query(
    const std::string& promql, int64_t timeMs, const common::RequestContext& ctx) {
  auto start = std::chrono::steady_clock::now();
  auto secs = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  bool ok = false;
  std::vector<Sample> out;
  try {
    out = co_await inner_.query(promql, timeMs, ctx);
    ok = true;
  } catch (...) {
    metrics_.observeBackend("query", secs(), false);
    throw;
  }
  metrics_.observeBackend("query", secs(), ok);
  co_return out;
}

}  // namespace adapter
