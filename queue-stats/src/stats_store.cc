#include "queue_stats/stats_store.h"

namespace queue_stats {

void StatsStore::recordError(const std::string& source, const std::string& target,
                             const std::string& error) {
  auto& h = health_[{source, target}];
  ++h.errors;
  h.lastError = error;
}

void StatsStore::recordSuccess(const std::string& source, const std::string& target,
                               int64_t nowMs) {
  auto& h = health_[{source, target}];
  h.lastSuccessMs = nowMs;
  h.lastError.clear();
}

void StatsStore::publish(const KafkaCycle& c, int64_t nowMs) {
  std::vector<std::function<void(std::shared_ptr<const StatsSnapshot>)>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    StatsSnapshot next = *snap_.load();
    durations_[{"kafka", c.cluster}] = c.seconds;
    // This cycle's values replace the cluster's: what failed or vanished goes.
    std::erase_if(next.groups, [&](const auto& kv) { return kv.first.first == c.cluster; });
    std::erase_if(next.topics, [&](const auto& kv) { return kv.first.first == c.cluster; });
    for (const auto& [target, err] : c.otherErrors)
      recordError("kafka", c.cluster + "/" + target, err);
    if (!c.clusterOk) {
      recordError("kafka", c.cluster, c.clusterError);
    } else {
      recordSuccess("kafka", c.cluster, nowMs);
      for (const auto& t : c.topics) next.topics[{c.cluster, t.topic}] = {c.cluster, t, nowMs};
      for (const auto& [g, stats] : c.groups) {
        next.groups[{c.cluster, g}] = {c.cluster, stats, nowMs};
        recordSuccess("kafka", c.cluster + "/" + g, nowMs);
      }
      for (const auto& [g, err] : c.groupErrors) recordError("kafka", c.cluster + "/" + g, err);
    }
    swap(std::move(next));
    subs = subscribers_;
  }
  for (const auto& s : subs) s(snap_.load());
}

void StatsStore::publish(const SqsCycle& c, int64_t nowMs) {
  std::vector<std::function<void(std::shared_ptr<const StatsSnapshot>)>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    StatsSnapshot next = *snap_.load();
    durations_[{"sqs", "sqs"}] = c.seconds;
    next.queues.clear();
    for (const auto& q : c.queues) {
      next.queues[q.url] = {q, nowMs};
      recordSuccess("sqs", q.name, nowMs);
    }
    for (const auto& [name, err] : c.queueErrors) recordError("sqs", name, err);
    for (const auto& [target, err] : c.otherErrors) recordError("sqs", target, err);
    swap(std::move(next));
    subs = subscribers_;
  }
  for (const auto& s : subs) s(snap_.load());
}

void StatsStore::forgetCluster(const std::string& cluster) {
  std::lock_guard<std::mutex> lock(mu_);
  StatsSnapshot next = *snap_.load();
  std::erase_if(next.groups, [&](const auto& kv) { return kv.first.first == cluster; });
  std::erase_if(next.topics, [&](const auto& kv) { return kv.first.first == cluster; });
  swap(std::move(next));
}

void StatsStore::forgetSqs() {
  std::lock_guard<std::mutex> lock(mu_);
  StatsSnapshot next = *snap_.load();
  next.queues.clear();
  swap(std::move(next));
}

void StatsStore::swap(StatsSnapshot next) {
  next.version = snap_.load()->version + 1;
  snap_.store(std::make_shared<const StatsSnapshot>(std::move(next)));
}

std::map<std::pair<std::string, std::string>, TargetHealth> StatsStore::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

std::map<std::pair<std::string, std::string>, double> StatsStore::durations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durations_;
}

void StatsStore::subscribe(std::function<void(std::shared_ptr<const StatsSnapshot>)> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.push_back(std::move(fn));
}

}  // namespace queue_stats
