#include "queue_stats/stats_store.h"

#include <algorithm>

namespace queue_stats {

namespace {

// Marks every entry `select` picks stale (a failed collection).
template <typename Map, typename Pred>
void markStale(Map& m, Pred select) {
  for (auto& [key, e] : m)
    if (select(key, e)) e.stale = true;
}

template <typename Map>
bool expireEntries(Map& m, int64_t nowMs) {
  bool changed = false;
  for (auto& [key, e] : m)
    if (!e.stale && nowMs >= e.staleAtMs) changed = e.stale = true;
  return changed;
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

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

void StatsStore::publish(const KafkaCycle& c, int64_t nowMs, int64_t staleAfterMs) {
  update([&](StatsSnapshot& next) {
    for (const auto& [target, err] : c.otherErrors)
      recordError("kafka", c.cluster + "/" + target, err);
    auto ofCluster = [&](const auto& key, const auto&) { return key.first == c.cluster; };
    if (!c.clusterOk) {
      recordError("kafka", c.cluster, c.clusterError);
      markStale(next.groups, ofCluster);
      markStale(next.topics, ofCluster);
      return true;
    }
    recordSuccess("kafka", c.cluster, nowMs);
    // This cycle's values replace the cluster's; a failed group keeps its
    // last values, stale; what is no longer measured goes.
    std::erase_if(next.topics, [&](const auto& kv) { return ofCluster(kv.first, kv.second); });
    for (const auto& t : c.topics)
      next.topics[{c.cluster, t.topic}] = {c.cluster, t, nowMs, nowMs + staleAfterMs, false};
    std::erase_if(next.groups, [&](const auto& kv) {
      return kv.first.first == c.cluster && !c.groupErrors.count(kv.first.second);
    });
    for (const auto& [g, stats] : c.groups) {
      next.groups[{c.cluster, g}] = {c.cluster, stats, nowMs, nowMs + staleAfterMs, false};
      recordSuccess("kafka", c.cluster + "/" + g, nowMs);
    }
    for (const auto& [g, err] : c.groupErrors) {
      recordError("kafka", c.cluster + "/" + g, err);
      if (auto it = next.groups.find({c.cluster, g}); it != next.groups.end())
        it->second.stale = true;
    }
    return true;
  });
}

void StatsStore::publish(const SqsCycle& c, int64_t nowMs, int64_t staleAfterMs) {
  update([&](StatsSnapshot& next) {
    std::map<std::string, StatsSnapshot::Queue> queues;
    for (const auto& q : c.queues) {
      queues[q.url] = {q, nowMs, nowMs + staleAfterMs, false};
      recordSuccess("sqs", q.name, nowMs);
    }
    // Failed queues (and those a failed listing would have found) keep
    // their last values, stale.
    for (auto& [url, q] : next.queues) {
      bool failed = c.queueErrors.count(q.stats.name) > 0;
      for (const auto& p : c.failedPrefixes) failed |= startsWith(q.stats.name, p);
      if (failed && !queues.count(url)) {
        q.stale = true;
        queues[url] = q;
      }
    }
    next.queues = std::move(queues);
    for (const auto& [name, err] : c.queueErrors) recordError("sqs", name, err);
    for (const auto& [target, err] : c.otherErrors) recordError("sqs", target, err);
    return true;
  });
}

void StatsStore::expire(int64_t nowMs) {
  // Called every 100 ms: the snapshot is copied only when a value is due.
  auto due = [&](const auto& m) {
    return std::any_of(m.begin(), m.end(), [&](const auto& kv) {
      return !kv.second.stale && nowMs >= kv.second.staleAtMs;
    });
  };
  auto snap = snap_.load();
  if (!due(snap->groups) && !due(snap->topics) && !due(snap->queues)) return;
  update([&](StatsSnapshot& next) {
    bool a = expireEntries(next.groups, nowMs);
    bool b = expireEntries(next.topics, nowMs);
    bool q = expireEntries(next.queues, nowMs);
    return a || b || q;
  });
}

void StatsStore::configure(std::map<std::string, std::string> clusterServers, bool sqs) {
  update([&](StatsSnapshot& next) {
    auto gone = [&](const auto& kv) { return !clusterServers.count(kv.first.first); };
    std::erase_if(next.groups, gone);
    std::erase_if(next.topics, gone);
    if (!sqs) next.queues.clear();
    next.clusterServers = std::move(clusterServers);
    return true;
  });
}

void StatsStore::update(const std::function<bool(StatsSnapshot&)>& change) {
  std::vector<Subscriber> subs;
  std::shared_ptr<const StatsSnapshot> published;
  {
    std::lock_guard<std::mutex> lock(mu_);
    StatsSnapshot next = *snap_.load();
    if (!change(next)) return;
    next.version = snap_.load()->version + 1;
    published = std::make_shared<const StatsSnapshot>(std::move(next));
    snap_.store(published);
    subs = subscribers_;
  }
  for (const auto& s : subs) s(published);
}

std::map<std::pair<std::string, std::string>, TargetHealth> StatsStore::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

void StatsStore::subscribe(Subscriber fn) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.push_back(std::move(fn));
}

}  // namespace queue_stats
