#include "adapter/prometheus/relister.h"

namespace adapter {

Relister::Relister(PrometheusApi& backend, ServingState& state, const common::Clock& clock,
                   RelistObserver observe, common::Logger& log, RelistOptions opts)
    : backend_(backend),
      state_(state),
      clock_(clock),
      observe_(std::move(observe)),
      log_(log),
      opts_(opts) {}

Relister::~Relister() { stop(); }

void Relister::setRules(std::shared_ptr<const rules::RuleSet> rules, uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    rules_ = std::move(rules);
    generation_ = generation;
    pending_ = true;
  }
  cv_.notify_all();
}

bool Relister::relistOnce() {
  std::shared_ptr<const rules::RuleSet> rules;
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rules = rules_;
    generation = generation_;
    pending_ = false;
  }
  if (!rules) return false;
  auto start = std::chrono::steady_clock::now();
  int64_t now = clock_.nowMillis();
  try {
    rules::CatalogBuilder builder(rules);
    const auto& queries = rules->seriesQueries();
    for (size_t q = 0; q < queries.size(); ++q) {
      backend_.series(queries[q], now - opts_.maxAge.count(), now,
                      [&](std::string_view name, const std::vector<std::string>& labels) {
                        builder.addSeries(q, name, labels);
                      });
    }
    auto snap =
        std::make_shared<Snapshot>(Snapshot{rules, std::move(builder).build(), generation, now});
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (observe_)
      observe_({secs, true, snap->catalog.seriesCount(), snap->catalog.customMetrics().size(),
                snap->catalog.externalMetrics().size()});
    log_.v(1, "metric discovery finished",
           {{"series", std::to_string(snap->catalog.seriesCount())},
            {"customMetrics", std::to_string(snap->catalog.customMetrics().size())},
            {"externalMetrics", std::to_string(snap->catalog.externalMetrics().size())},
            {"seconds", std::to_string(secs)},
            {"configGeneration", std::to_string(generation)}});
    state_.publish(std::move(snap));
    return true;
  } catch (const std::exception& e) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (observe_) observe_({secs, false, 0, 0, 0});
    log_.error("metric discovery failed; the previous metrics keep serving", {{"error", e.what()}});
    return false;
  }
}

void Relister::start() {
  thread_ = std::thread([this] { loop(); });
}

void Relister::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Relister::loop() {
  while (true) {
    bool ok = relistOnce();
    std::unique_lock<std::mutex> lock(mu_);
    // Until the first success, retry sooner than the full interval.
    auto wait = opts_.interval;
    if (!ok && !state_.ready())
      wait = std::min<std::chrono::milliseconds>(opts_.interval, std::chrono::seconds(5));
    cv_.wait_for(lock, wait, [&] { return stopping_ || pending_; });
    if (stopping_) return;
  }
}

}  // namespace adapter
