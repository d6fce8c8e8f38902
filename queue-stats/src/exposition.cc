#include "queue_stats/exposition.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace queue_stats {

CollectionMetrics::CollectionMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      durations_(prometheus::BuildHistogram()
                     .Name("queue_stats_collection_duration_seconds")
                     .Help("Duration of a collection cycle, by source (kafka, sqs) and target "
                           "(cluster or sqs).")
                     .Register(*registry_)),
      interval_(prometheus::BuildGauge()
                    .Name("queue_stats_collection_interval_seconds")
                    .Help("How often each source is collected (the config's interval).")
                    .Register(*registry_)
                    .Add({})) {}

void CollectionMetrics::observe(const std::string& source, const std::string& target,
                                double seconds) {
  durations_
      .Add({{"source", source}, {"target", target}},
           prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                                                   60})
      .Observe(seconds);
}

namespace {

// The text format written directly: a 10,000-partition cluster is ~50,000
// series, and building client-library objects for each one per scrape
// costs more memory than the data itself.
class TextWriter {
 public:
  explicit TextWriter(std::string& out) : out_(out) {}

  // Starts a family; its header is written with its first series only, so
  // families without series are left out (as client libraries do).
  void family(const char* name, const char* help, const char* type) {
    name_ = name;
    help_ = help;
    type_ = type;
    headerDone_ = false;
  }

  void series(std::initializer_list<std::pair<const char*, std::string_view>> labels,
              int64_t value) {
    sample(labels);
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void seriesDouble(std::initializer_list<std::pair<const char*, std::string_view>> labels,
                    double value) {
    sample(labels);
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, r.ptr);
    out_ += '\n';
  }
  // Milliseconds written as seconds.
  void seriesSeconds(std::initializer_list<std::pair<const char*, std::string_view>> labels,
                     int64_t ms) {
    sample(labels);
    out_ += std::to_string(ms / 1000);
    if (ms % 1000) {
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
      out_ += frac;
    }
    out_ += '\n';
  }

 private:
  void sample(std::initializer_list<std::pair<const char*, std::string_view>> labels) {
    if (!headerDone_) {
      out_ += "# HELP ";
      out_ += name_;
      out_ += ' ';
      out_ += help_;
      out_ += "\n# TYPE ";
      out_ += name_;
      out_ += ' ';
      out_ += type_;
      out_ += '\n';
      headerDone_ = true;
    }
    out_ += name_;
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      for (char c : v) {
        if (c == '\\')
          out_ += "\\\\";
        else if (c == '"')
          out_ += "\\\"";
        else if (c == '\n')
          out_ += "\\n";
        else
          out_ += c;
      }
      out_ += '"';
    }
    out_ += "} ";
  }
  std::string& out_;
  const char* name_ = "";
  const char* help_ = "";
  const char* type_ = "";
  bool headerDone_ = false;
};

}  // namespace

namespace {

// The largest lag in seconds per topic of a group: only when every
// partition with a commit has one (a partition that could not be read
// must not make the oldest look younger).
std::map<std::string_view, double> lagSecondsMax(const KafkaGroupStats& g) {
  std::map<std::string_view, std::optional<double>> max;
  std::set<std::string_view> incomplete;
  for (const auto& p : g.partitions) {
    if (p.committed < 0) continue;
    if (!p.lagSeconds) {
      incomplete.insert(p.topic);
      continue;
    }
    auto& m = max[p.topic];
    m = std::max(m.value_or(0), *p.lagSeconds);
  }
  std::map<std::string_view, double> out;
  for (const auto& [t, m] : max)
    if (m && !incomplete.count(t)) out[t] = *m;
  return out;
}

bool anyStale(const StatsSnapshot& snap) {
  auto stale = [](const auto& m) {
    return std::any_of(m.begin(), m.end(), [](const auto& kv) { return kv.second.stale; });
  };
  return stale(snap.groups) || stale(snap.topics) || stale(snap.queues);
}

// Only current values are exposed: a stale one is left out (its error
// counter and last-success time say why).
StatsSnapshot currentOnly(const StatsSnapshot& snap) {
  StatsSnapshot out;
  for (const auto& [k, g] : snap.groups)
    if (!g.stale) out.groups.emplace(k, g);
  for (const auto& [k, t] : snap.topics)
    if (!t.stale) out.topics.emplace(k, t);
  for (const auto& [k, q] : snap.queues)
    if (!q.stale) out.queues.emplace(k, q);
  return out;
}

}  // namespace

std::string renderMetrics(const StatsStore& store, const CollectionMetrics& metrics) {
  auto all = store.snapshot();
  // Copied without the stale entries only when there are some: a scrape of
  // a healthy 10,000-partition snapshot copies nothing.
  auto snap = anyStale(*all) ? std::make_shared<const StatsSnapshot>(currentOnly(*all)) : all;
  std::string out;
  size_t partitions = 0;
  for (const auto& [k, g] : snap->groups) partitions += g.stats.partitions.size();
  out.reserve(4096 + partitions * 420 + snap->queues.size() * 600);
  TextWriter w(out);
  w.family("kafka_topic_partitions", "Number of partitions for this Topic", "gauge");
  for (const auto& [key, t] : snap->topics)
    w.series({{"cluster", t.cluster}, {"topic", t.stats.topic}},
             static_cast<int64_t>(t.stats.partitions.size()));
  for (int which = 0; which < 2; ++which) {
    if (which == 0)
      w.family("kafka_topic_partition_current_offset",
               "Current Offset of a Broker at Topic/Partition", "gauge");
    else
      w.family("kafka_topic_partition_oldest_offset",
               "Oldest Offset of a Broker at Topic/Partition", "gauge");
    for (const auto& [key, t] : snap->topics)
      for (size_t p = 0; p < t.stats.partitions.size(); ++p)
        w.series(
            {{"cluster", t.cluster}, {"partition", std::to_string(p)}, {"topic", t.stats.topic}},
            which == 0 ? t.stats.partitions[p].high : t.stats.partitions[p].low);
  }
  // Per partition: the committed offset (-1: none), the lag (-1: none),
  // and messages retention deleted unread (only when there are some).
  auto perPartition = [&](int what) {
    for (const auto& [key, g] : snap->groups)
      for (const auto& p : g.stats.partitions) {
        int64_t v = what == 0   ? (p.committed < 0 ? -1 : p.committed)
                    : what == 1 ? consumerLag(p)
                                : expiredMessages(p);
        if (what == 2 && v <= 0) continue;
        w.series({{"cluster", g.cluster},
                  {"consumergroup", g.stats.group},
                  {"partition", std::to_string(p.partition)},
                  {"topic", p.topic}},
                 v);
      }
  };
  // Per topic, over partitions with a commit (kafka_exporter's rule: -1
  // stays out); a topic without any commit has no sum.
  auto perTopic = [&](bool lagSum) {
    for (const auto& [key, g] : snap->groups) {
      std::map<std::string_view, std::pair<int64_t, bool>> sums;
      for (const auto& p : g.stats.partitions) {
        auto& s = sums[p.topic];
        if (p.committed < 0) continue;
        s.first += lagSum ? consumerLag(p) : p.committed;
        s.second = true;
      }
      for (const auto& [topic, s] : sums)
        if (s.second)
          w.series({{"cluster", g.cluster}, {"consumergroup", g.stats.group}, {"topic", topic}},
                   s.first);
    }
  };
  w.family("kafka_consumergroup_current_offset",
           "Current Offset of a ConsumerGroup at Topic/Partition (-1: nothing committed)", "gauge");
  perPartition(0);
  w.family("kafka_consumergroup_current_offset_sum",
           "Current Offset of a ConsumerGroup at Topic for all partitions with a commit", "gauge");
  perTopic(false);
  w.family("kafka_consumergroup_lag",
           "Current Approximate Lag of a ConsumerGroup at Topic/Partition (-1: nothing committed)",
           "gauge");
  perPartition(1);
  w.family("kafka_consumergroup_lag_sum",
           "Current Approximate Lag of a ConsumerGroup at Topic for all partitions with a commit",
           "gauge");
  perTopic(true);
  w.family("kafka_consumergroup_lag_seconds",
           "Age of the oldest unread message of a ConsumerGroup at Topic/Partition (0: no lag)",
           "gauge");
  for (const auto& [key, g] : snap->groups)
    for (const auto& p : g.stats.partitions)
      if (p.lagSeconds)
        w.seriesDouble({{"cluster", g.cluster},
                        {"consumergroup", g.stats.group},
                        {"partition", std::to_string(p.partition)},
                        {"topic", p.topic}},
                       *p.lagSeconds);
  w.family("kafka_consumergroup_lag_seconds_max",
           "Age of the oldest unread message of a ConsumerGroup at Topic, over its partitions",
           "gauge");
  for (const auto& [key, g] : snap->groups)
    for (const auto& [topic, v] : lagSecondsMax(g.stats))
      w.seriesDouble({{"cluster", g.cluster}, {"consumergroup", g.stats.group}, {"topic", topic}},
                     v);
  w.family("kafka_consumergroup_members", "Amount of members in a consumer group", "gauge");
  for (const auto& [key, g] : snap->groups)
    if (g.stats.members)
      w.series({{"cluster", g.cluster}, {"consumergroup", g.stats.group}}, *g.stats.members);
  w.family("kafka_consumergroup_expired_messages",
           "Messages deleted by retention before the ConsumerGroup read them, at Topic/Partition",
           "gauge");
  perPartition(2);
  const std::pair<const char*, const char*> sqsFamilies[] = {
      {"aws_sqs_approximate_number_of_messages_visible",
       "Messages available for retrieval (ApproximateNumberOfMessages)"},
      {"aws_sqs_approximate_number_of_messages_not_visible",
       "Messages in flight: received, not yet deleted (ApproximateNumberOfMessagesNotVisible)"},
      {"aws_sqs_approximate_number_of_messages_delayed",
       "Messages delayed and not yet available (ApproximateNumberOfMessagesDelayed)"}};
  for (int i = 0; i < 3; ++i) {
    w.family(sqsFamilies[i].first, sqsFamilies[i].second, "gauge");
    for (const auto& [url, q] : snap->queues)
      w.series(
          {{"queue_name", q.stats.name}, {"queue_url", q.stats.url}, {"region", q.stats.region}},
          i == 0   ? q.stats.visible
          : i == 1 ? q.stats.notVisible
                   : q.stats.delayed);
  }
  auto health = store.health();
  w.family("queue_stats_collection_errors_total",
           "Failed collections by source and target (a cluster, cluster/group or queue).",
           "counter");
  for (const auto& [key, h] : health)
    w.series({{"source", key.first}, {"target", key.second}}, static_cast<int64_t>(h.errors));
  w.family("queue_stats_last_success_timestamp_seconds",
           "When the target was last collected successfully.", "gauge");
  for (const auto& [key, h] : health)
    if (h.lastSuccessMs)
      w.seriesSeconds({{"source", key.first}, {"target", key.second}}, h.lastSuccessMs);
  out += prometheus::TextSerializer().Serialize(metrics.registry()->Collect());
  return out;
}

}  // namespace queue_stats
