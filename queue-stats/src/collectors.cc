#include "queue_stats/collectors.h"

#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

namespace queue_stats {

namespace {
double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

KafkaCycle collectKafka(const KafkaClusterConfig& cfg, KafkaClient& client) {
  auto start = std::chrono::steady_clock::now();
  KafkaCycle c;
  c.cluster = cfg.name;
  std::set<std::string> groups(cfg.groups.begin(), cfg.groups.end());
  std::map<std::string, int> members;
  std::map<std::string, GroupOffsets> offsets;
  std::map<std::string, int> topics;
  std::map<TopicPartition, PartitionWatermarks> marks;
  std::vector<std::string> groupList;
  try {
    topics = client.topics();
    // One listing per cycle serves discovery and member counts (asked once
    // the brokers answered, so an unreachable cluster costs one timeout).
    try {
      members = client.groups();
      if (!cfg.groupPattern.empty()) {
        RE2 re(cfg.groupPattern);
        for (const auto& [g, n] : members)
          if (RE2::PartialMatch(g, re)) groups.insert(g);
      }
    } catch (const KafkaUnsupported& e) {
      // Brokers without ListGroups (the mock cluster): no member counts
      // (left out, never 0); the explicit groups still count.
      if (!cfg.groupPattern.empty()) c.otherErrors.emplace_back("discovery", e.what());
    } catch (const KafkaError& e) {
      c.otherErrors.emplace_back(cfg.groupPattern.empty() ? "members" : "discovery", e.what());
    }
    groupList.assign(groups.begin(), groups.end());
    // Asked explicitly when a group's own answer is empty: the filter's
    // topics, or every topic.
    std::vector<TopicPartition> fallback;
    for (const auto& [t, n] : topics)
      if (cfg.topics.empty() ||
          std::find(cfg.topics.begin(), cfg.topics.end(), t) != cfg.topics.end())
        for (int p = 0; p < n; ++p) fallback.emplace_back(t, p);
    offsets = client.committedOffsets(groupList, fallback);
    // The topics to report: the filter, or every topic a group committed on.
    std::set<std::string> wanted(cfg.topics.begin(), cfg.topics.end());
    if (wanted.empty())
      for (const auto& [g, go] : offsets)
        for (const auto& [tp, off] : go.committed) wanted.insert(tp.first);
    std::vector<TopicPartition> parts;
    for (const auto& t : wanted) {
      auto it = topics.find(t);
      if (it == topics.end()) continue;  // deleted, or not created yet
      for (int p = 0; p < it->second; ++p) parts.emplace_back(t, p);
    }
    marks = client.watermarks(parts);
    for (const auto& t : wanted) {
      auto it = topics.find(t);
      if (it == topics.end()) continue;
      KafkaTopicStats ts{t, {}};
      for (int p = 0; p < it->second; ++p) ts.partitions.push_back(marks[{t, p}]);
      c.topics.push_back(std::move(ts));
    }
    c.clusterOk = true;
  } catch (const KafkaError& e) {
    c.clusterError = e.what();
    c.seconds = secondsSince(start);
    return c;
  }
  std::set<std::string> filter(cfg.topics.begin(), cfg.topics.end());
  for (const auto& g : groupList) {
    const GroupOffsets& go = offsets[g];
    if (!go.error.empty()) {
      c.groupErrors[g] = go.error;
      continue;
    }
    KafkaGroupStats gs;
    gs.group = g;
    if (auto m = members.find(g); m != members.end()) gs.members = m->second;
    // Every partition of each topic the group consumes (or the filter
    // names): one without a commit is reported with lag -1.
    std::set<std::string> groupTopics;
    for (const auto& [tp, off] : go.committed)
      if (filter.empty() || filter.count(tp.first)) groupTopics.insert(tp.first);
    for (const auto& t : filter) groupTopics.insert(t);
    for (const auto& t : groupTopics) {
      auto it = topics.find(t);
      if (it == topics.end()) continue;
      for (int p = 0; p < it->second; ++p) {
        GroupPartition gp{t, p, -1, marks[{t, p}]};
        if (auto off = go.committed.find({t, p}); off != go.committed.end())
          gp.committed = off->second;
        gs.partitions.push_back(gp);
      }
    }
    c.groups[g] = std::move(gs);
  }
  c.seconds = secondsSince(start);
  return c;
}

std::string queueNameFromUrl(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u.substr(u.rfind('/') + 1);
}

SqsCollector::SqsCollector(SqsConfig cfg, std::string region,
                           std::function<std::unique_ptr<SqsApi>()> makeApi)
    : cfg_(std::move(cfg)), region_(std::move(region)), makeApi_(std::move(makeApi)) {}

std::vector<std::string> SqsCollector::queueUrls(SqsApi& api, SqsCycle& cycle) {
  std::set<std::string> urls;
  for (const auto& q : cfg_.queues) {
    if (q.rfind("https://", 0) == 0 || q.rfind("http://", 0) == 0) {
      urls.insert(q);
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = urlByName_.find(q);
    if (it == urlByName_.end()) {
      try {
        it = urlByName_.emplace(q, api.getQueueUrl(q)).first;
      } catch (const SqsError& e) {
        cycle.queueErrors[q] = std::string("GetQueueUrl: ") + e.what();
        continue;
      }
    }
    urls.insert(it->second);
  }
  for (const auto& prefix : cfg_.queueNamePrefixes) {
    try {
      for (auto& u : api.listQueues(prefix)) urls.insert(std::move(u));
    } catch (const SqsError& e) {
      cycle.otherErrors.emplace_back("ListQueues " + prefix, e.what());
    }
  }
  return {urls.begin(), urls.end()};
}

SqsCycle SqsCollector::collect() {
  auto start = std::chrono::steady_clock::now();
  SqsCycle c;
  size_t workers = static_cast<size_t>(std::max(1, cfg_.concurrency));
  while (apis_.size() < workers) apis_.push_back(makeApi_());
  std::vector<std::string> urls = queueUrls(*apis_[0], c);
  std::vector<std::optional<SqsQueueStats>> results(urls.size());
  std::vector<std::string> errors(urls.size());
  std::atomic<size_t> next{0};
  auto work = [&](SqsApi& api) {
    for (size_t i; (i = next++) < urls.size();) {
      try {
        QueueDepth d = api.getQueueAttributes(urls[i]);
        results[i] = SqsQueueStats{
            region_, queueNameFromUrl(urls[i]), urls[i], d.visible, d.notVisible, d.delayed};
      } catch (const SqsError& e) {
        errors[i] = e.what();
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < std::min(workers, urls.size()); ++w)
    threads.emplace_back(work, std::ref(*apis_[w]));
  work(*apis_[0]);
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < urls.size(); ++i) {
    std::string name = queueNameFromUrl(urls[i]);
    if (results[i]) {
      c.queues.push_back(std::move(*results[i]));
    } else {
      c.queueErrors[name] = errors[i];
      if (errors[i].find("QueueDoesNotExist") != std::string::npos) {
        std::lock_guard<std::mutex> lock(mu_);
        urlByName_.erase(name);  // resolve again next time (recreated queue)
      }
    }
  }
  c.seconds = secondsSince(start);
  return c;
}

}  // namespace queue_stats
