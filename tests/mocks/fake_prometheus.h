// A Prometheus-compatible backend scripted per request: /series answers per
// match[] text, query answers per PromQL text (exact, then by fragment, then
// a default), failures as BackendError (unavailable or refused), and a
// record of every call. Thread-safe: the relister calls it from its thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapter/prometheus/prometheus_api.h"

namespace mocks {

// A sample with `labels`, `value` and (by default) the fake clock's start.
inline adapter::Sample sample(std::map<std::string, std::string> labels, double value,
                              int64_t timestampMs = 1700000000000) {
  return adapter::Sample{std::move(labels), value, timestampMs};
}

class FakePrometheus final : public adapter::PrometheusApi {
 public:
  // One series of a /series answer; "__name__" is added to `labels` when
  // missing, as Prometheus lists it.
  struct Series {
    std::string name;
    std::vector<std::string> labels;
  };
  struct SeriesCall {
    std::string match;
    int64_t startMs = 0;
    int64_t endMs = 0;
  };
  struct QueryCall {
    std::string promql;
    int64_t timeMs = 0;
  };

  // --- /api/v1/series ---------------------------------------------------
  // The series answered for `match` (exactly a rule's seriesQuery); a match
  // nobody scripted answers no series.
  void answerSeries(const std::string& match, std::vector<Series> series) {
    std::lock_guard<std::mutex> lock(mu_);
    series_[match] = std::move(series);
  }
  // Every /series call throws (until heal()).
  void failSeries(const std::string& message, bool unavailable = true) {
    std::lock_guard<std::mutex> lock(mu_);
    seriesFailure_.emplace(message, unavailable);
  }
  // /series calls for exactly `match` throw (until heal()).
  void failSeriesFor(const std::string& match, const std::string& message,
                     bool unavailable = true) {
    std::lock_guard<std::mutex> lock(mu_);
    seriesFailures_.insert_or_assign(match, adapter::BackendError(message, unavailable));
  }

  // --- /api/v1/query ----------------------------------------------------
  // Which answer a query gets: the one for its exact text, else the first
  // registered fragment it contains, else the default (no samples unless
  // answerOtherQueries() set one). Failures are answers too.
  void answerQuery(const std::string& promql, std::vector<adapter::Sample> samples) {
    std::lock_guard<std::mutex> lock(mu_);
    exact_.insert_or_assign(promql, Reply{std::move(samples), std::nullopt});
  }
  // A fragment scripted again keeps its place and takes the new answer.
  void answerQueryContaining(const std::string& fragment, std::vector<adapter::Sample> samples) {
    std::lock_guard<std::mutex> lock(mu_);
    scriptFragment(fragment, Reply{std::move(samples), std::nullopt});
  }
  void answerOtherQueries(std::vector<adapter::Sample> samples) {
    std::lock_guard<std::mutex> lock(mu_);
    default_ = Reply{std::move(samples), std::nullopt};
  }
  void failQueriesContaining(const std::string& fragment, const std::string& message,
                             bool unavailable = true) {
    std::lock_guard<std::mutex> lock(mu_);
    scriptFragment(fragment, Reply{{}, adapter::BackendError(message, unavailable)});
  }
  // Every query throws (until heal()), whatever was scripted.
  void failQueries(const std::string& message, bool unavailable = true) {
    std::lock_guard<std::mutex> lock(mu_);
    queryFailure_.emplace(message, unavailable);
  }
  // Drops the failures set with failSeries*, failQueries and
  // failQueriesContaining; scripted answers stay.
  void heal() {
    std::lock_guard<std::mutex> lock(mu_);
    seriesFailure_.reset();
    seriesFailures_.clear();
    queryFailure_.reset();
    std::erase_if(fragments_, [](const auto& f) { return f.second.error.has_value(); });
  }

  // --- what was asked -----------------------------------------------------
  size_t queryCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queries_.size();
  }
  std::vector<QueryCall> queries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queries_;
  }
  // The text of the last query ("" when none).
  std::string lastQuery() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queries_.empty() ? "" : queries_.back().promql;
  }
  size_t seriesCallCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seriesCalls_.size();
  }
  std::vector<SeriesCall> seriesCalls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seriesCalls_;
  }
  void forgetCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    queries_.clear();
    seriesCalls_.clear();
  }

  // --- PrometheusApi --------------------------------------------------------
  void series(const std::string& match, int64_t startMs, int64_t endMs,
              const adapter::SeriesVisitor& visit) override {
    std::vector<Series> answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seriesCalls_.push_back({match, startMs, endMs});
      if (seriesFailure_) throw *seriesFailure_;
      if (auto f = seriesFailures_.find(match); f != seriesFailures_.end()) throw f->second;
      if (auto it = series_.find(match); it != series_.end()) answer = it->second;
    }
    for (auto& s : answer) {
      if (std::find(s.labels.begin(), s.labels.end(), "__name__") == s.labels.end())
        s.labels.insert(s.labels.begin(), "__name__");
      visit(s.name, s.labels);
    }
  }

  common::Task<std::vector<adapter::Sample>> query(const std::string& promql, int64_t timeMs,
                                                   const common::RequestContext&) override {
    co_return answer(promql, timeMs);
  }

 private:
  std::vector<adapter::Sample> answer(const std::string& promql, int64_t timeMs) {
    std::lock_guard<std::mutex> lock(mu_);
    queries_.push_back({promql, timeMs});
    if (queryFailure_) throw *queryFailure_;
    const Reply* reply = &default_;
    if (auto it = exact_.find(promql); it != exact_.end()) {
      reply = &it->second;
    } else {
      for (const auto& [fragment, r] : fragments_) {
        if (promql.find(fragment) != std::string::npos) {
          reply = &r;
          break;
        }
      }
    }
    if (reply->error) throw *reply->error;
    return reply->samples;
  }

  struct Reply {
    std::vector<adapter::Sample> samples;
    std::optional<adapter::BackendError> error;
  };
  void scriptFragment(const std::string& fragment, Reply reply) {
    for (auto& [f, r] : fragments_) {
      if (f == fragment) {
        r = std::move(reply);
        return;
      }
    }
    fragments_.emplace_back(fragment, std::move(reply));
  }
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Series>> series_;
  std::optional<adapter::BackendError> seriesFailure_;
  std::map<std::string, adapter::BackendError> seriesFailures_;
  std::map<std::string, Reply> exact_;
  std::vector<std::pair<std::string, Reply>> fragments_;
  Reply default_;
  std::optional<adapter::BackendError> queryFailure_;
  std::vector<QueryCall> queries_;
  std::vector<SeriesCall> seriesCalls_;
};

}  // namespace mocks
