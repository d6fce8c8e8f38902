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

double ageSeconds(int64_t tsMs, int64_t nowMs) {
  // In doubles: a broker may send any 64-bit timestamp.
  return tsMs >= nowMs ? 0.0 : (static_cast<double>(nowMs) - static_cast<double>(tsMs)) / 1000.0;
}

// What one cycle learned of the cluster before reading the groups.
struct KafkaCollector::Metadata {
  std::map<std::string, int> partitions;      // healthy topics
  std::map<std::string, std::string> errors;  // topic -> why it cannot be measured now
  std::map<TopicPartition, PartitionWatermarks> marks;
  std::map<std::string, int> members;
  std::vector<std::string> groups;
};

KafkaCollector::KafkaCollector(KafkaClusterConfig cfg, KafkaClient& client,
                               std::function<int64_t()> nowMs)
    : cfg_(std::move(cfg)), client_(client), nowMs_(std::move(nowMs)) {}

namespace {

bool listed(const std::vector<std::string>& filter, const std::string& topic) {
  return filter.empty() || std::find(filter.begin(), filter.end(), topic) != filter.end();
}

// The explicit groups, plus those the brokers list that match the pattern.
void discoverGroups(const KafkaClusterConfig& cfg, KafkaClient& client, KafkaCycle& c,
                    std::map<std::string, int>& members, std::vector<std::string>& out) {
  std::set<std::string> groups(cfg.groups.begin(), cfg.groups.end());
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
  out.assign(groups.begin(), groups.end());
}

// The topics whose watermarks are read: every topic a group committed on
// and the filter's, limited by the filter.
std::set<std::string> wantedTopics(const std::vector<std::string>& filter,
                                   const std::map<std::string, GroupOffsets>& offsets) {
  std::set<std::string> wanted(filter.begin(), filter.end());
  for (const auto& [g, go] : offsets)
    for (const auto& [tp, off] : go.committed)
      if (listed(filter, tp.first)) wanted.insert(tp.first);
  return wanted;
}

}  // namespace

KafkaCycle KafkaCollector::collect() {
  auto start = std::chrono::steady_clock::now();
  KafkaCycle c;
  c.cluster = cfg_.name;
  Metadata md;
  std::map<std::string, GroupOffsets> offsets;
  try {
    TopicsAnswer topics = client_.topics();
    md.partitions = std::move(topics.partitions);
    md.errors = std::move(topics.errors);
    discoverGroups(cfg_, client_, c, md.members, md.groups);
    // Asked explicitly when a group's own answer is empty: the filter's
    // topics, or every topic.
    std::vector<TopicPartition> fallback;
    for (const auto& [t, n] : md.partitions)
      if (listed(cfg_.topics, t))
        for (int p = 0; p < n; ++p) fallback.emplace_back(t, p);
    offsets = client_.committedOffsets(md.groups, fallback);
    std::set<std::string> wanted = wantedTopics(cfg_.topics, offsets);
    std::vector<TopicPartition> parts;
    for (const auto& t : wanted)
      if (auto it = md.partitions.find(t); it != md.partitions.end())
        for (int p = 0; p < it->second; ++p) parts.emplace_back(t, p);
    WatermarksAnswer wm = client_.watermarks(parts);
    // Not one partition answered: the cluster is unreachable, not a topic.
    if (!parts.empty() && wm.marks.empty() && !wm.errors.empty())
      throw KafkaError("listing partition offsets failed: " + wm.errors.begin()->second);
    md.marks = std::move(wm.marks);
    for (const auto& [tp, err] : wm.errors)
      md.errors.try_emplace(tp.first,
                            "offsets of partition " + std::to_string(tp.second) + ": " + err);
    for (const auto& tp : parts)
      if (!md.marks.count(tp))
        md.errors.try_emplace(tp.first, "no offsets for partition " + std::to_string(tp.second));
    for (const auto& t : wanted) {
      auto it = md.partitions.find(t);
      if (it == md.partitions.end() || md.errors.count(t)) continue;  // deleted, or failed
      KafkaTopicStats ts{t, {}};
      for (int p = 0; p < it->second; ++p) ts.partitions.push_back(md.marks[{t, p}]);
      c.topics.push_back(std::move(ts));
    }
    for (const auto& [t, err] : md.errors)
      if (wanted.count(t)) c.otherErrors.emplace_back("topic/" + t, err);
    c.clusterOk = true;
  } catch (const KafkaError& e) {
    c.clusterError = e.what();
    c.seconds = secondsSince(start);
    return c;
  }
  readGroups(md, offsets, c);
  if (cfg_.lagSeconds) readLagSeconds(c);
  c.seconds = secondsSince(start);
  return c;
}

void KafkaCollector::readGroups(const Metadata& md,
                                const std::map<std::string, GroupOffsets>& offsets, KafkaCycle& c) {
  for (const auto& g : md.groups) {
    auto found = offsets.find(g);
    const GroupOffsets empty;
    const GroupOffsets& go = found == offsets.end() ? empty : found->second;
    if (!go.error.empty()) {
      c.groupErrors[g] = go.error;
      continue;
    }
    // The topics it committed on (limited by the filter): every partition
    // of each, one without a commit with -1.
    std::set<std::string> groupTopics;
    for (const auto& [tp, off] : go.committed)
      if (listed(cfg_.topics, tp.first)) groupTopics.insert(tp.first);
    // A topic it consumed last time that fails now may not be in its
    // answer at all (brokers that are asked partition by partition).
    for (const auto& t : lastTopics_[g])
      if (md.errors.count(t)) groupTopics.insert(t);
    KafkaGroupStats gs;
    gs.group = g;
    if (auto m = md.members.find(g); m != md.members.end()) gs.members = m->second;
    std::string failed;
    for (const auto& t : groupTopics) {
      if (auto e = md.errors.find(t); e != md.errors.end()) {
        failed = "topic " + t + ": " + e->second;
        break;
      }
      auto it = md.partitions.find(t);
      if (it == md.partitions.end()) continue;  // deleted since the commit
      for (int p = 0; p < it->second; ++p) {
        GroupPartition gp{t, p, -1, md.marks.at({t, p}), std::nullopt};
        if (auto off = go.committed.find({t, p}); off != go.committed.end())
          gp.committed = off->second;
        gs.partitions.push_back(gp);
      }
    }
    if (!failed.empty()) {
      c.groupErrors[g] = failed;
      continue;
    }
    lastTopics_[g] = std::move(groupTopics);
    c.groups[g] = std::move(gs);
  }
  // Groups no longer measured are forgotten.
  std::erase_if(lastTopics_, [&](const auto& kv) {
    return !c.groups.count(kv.first) && !c.groupErrors.count(kv.first);
  });
}

void KafkaCollector::readLagSeconds(KafkaCycle& c) {
  // The oldest unread message is at the commit, or at the low watermark
  // when retention deleted what the group never read.
  auto position = [](const GroupPartition& p) {
    return MessagePosition{{p.topic, p.partition}, std::max(p.committed, p.watermarks.low)};
  };
  std::map<MessagePosition, int64_t> known;
  std::set<MessagePosition> ask;
  for (const auto& [g, gs] : c.groups)
    for (const auto& p : gs.partitions) {
      if (p.committed < 0 || consumerLag(p) <= 0) continue;
      MessagePosition at = position(p);
      if (known.count(at)) continue;
      if (auto it = timestamps_.find(at); it != timestamps_.end())
        known.emplace(at, it->second);
      else
        ask.insert(at);
    }
  TimestampsAnswer read;
  if (!ask.empty()) read = client_.messageTimestamps({ask.begin(), ask.end()});
  known.insert(read.timestampsMs.begin(), read.timestampsMs.end());
  if (!read.errors.empty())
    c.otherErrors.emplace_back("lagSeconds", std::to_string(read.errors.size()) +
                                                 " message timestamps not read, e.g. " +
                                                 read.errors.begin()->second);
  int64_t now = nowMs_();
  for (auto& [g, gs] : c.groups)
    for (auto& p : gs.partitions) {
      if (p.committed < 0) continue;
      if (consumerLag(p) <= 0) {
        p.lagSeconds = 0.0;
      } else if (auto it = known.find(position(p)); it != known.end()) {
        p.lagSeconds = ageSeconds(it->second, now);
      }
    }
  timestamps_ = std::move(known);
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
      cycle.failedPrefixes.push_back(prefix);
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
