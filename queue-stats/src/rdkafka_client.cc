// KafkaClient over librdkafka's C API.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "queue_stats/kafka_client.h"
#include "rdkafka_handles.h"
#include "rdkafka_timestamps.h"
#include "rdkafka_watermarks.h"

namespace queue_stats {

namespace {

using namespace rdkafka;

bool unsupported(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
         err == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || err == RD_KAFKA_RESP_ERR_INVALID_REQUEST;
}

class RdKafkaClient final : public KafkaClient {
 public:
  RdKafkaClient(const KafkaClusterConfig& cfg, KafkaLogSink log) : cfg_(cfg), log_(std::move(log)) {
    rk_ = newHandle({});
  }

  // A consumer handle that never joins a group: admin requests and offset
  // lookups (without a group.id), or single-message reads (`extra`).
  HandlePtr newHandle(const Properties& extra) {
    const KafkaClusterConfig& cfg = cfg_;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    auto set = [&](const char* k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw KafkaError("kafka cluster " + cfg.name + ": " + k + ": " + err);
      }
    };
    set("bootstrap.servers", cfg.bootstrapServers);
    set("client.id", "queue-stats");
    // The high watermark, not the last stable offset, as kafka_exporter.
    set("isolation.level", "read_uncommitted");
    set("enable.auto.commit", "false");
    set("socket.timeout.ms", std::to_string(cfg.timeoutMs));
    set("topic.metadata.refresh.interval.ms", "60000");
    bool tls = cfg.tls.has_value();
    if (cfg.sasl) {
      set("security.protocol", tls ? "SASL_SSL" : "SASL_PLAINTEXT");
      set("sasl.mechanisms", cfg.sasl->mechanism);
      set("sasl.username", cfg.sasl->username);
      std::ifstream in(cfg.sasl->passwordFile);
      if (!in) {
        rd_kafka_conf_destroy(conf);
        throw KafkaError("kafka cluster " + cfg.name + ": cannot read sasl.passwordFile " +
                         cfg.sasl->passwordFile);
      }
      std::stringstream ss;
      ss << in.rdbuf();
      std::string password = ss.str();
      while (!password.empty() && std::isspace(static_cast<unsigned char>(password.back())))
        password.pop_back();
      set("sasl.password", password);
    } else if (tls) {
      set("security.protocol", "SSL");
    }
    if (tls) {
      if (!cfg.tls->caFile.empty()) set("ssl.ca.location", cfg.tls->caFile);
      if (!cfg.tls->certFile.empty()) set("ssl.certificate.location", cfg.tls->certFile);
      if (!cfg.tls->keyFile.empty()) set("ssl.key.location", cfg.tls->keyFile);
      if (cfg.tls->insecureSkipVerify) set("enable.ssl.certificate.verification", "false");
    }
    for (const auto& [k, v] : extra) set(k.c_str(), v);
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_log_cb(conf,
                             [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
                               auto* self = static_cast<RdKafkaClient*>(rd_kafka_opaque(rk));
                               if (self && self->log_) self->log_(level, fac, buf);
                             });
    HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
    if (!rk) throw KafkaError("kafka cluster " + cfg.name + ": " + err);
    return rk;
  }

  TopicsAnswer topics() override {
    MetadataPtr md = metadata();
    TopicsAnswer out;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const auto& t = md->topics[i];
      if (std::string(t.topic).rfind("__", 0) == 0) continue;  // internal topics
      // A topic the brokers cannot describe fails its groups, not the cycle.
      if (t.err)
        out.errors[t.topic] = rd_kafka_err2str(t.err);
      else
        out.partitions[t.topic] = t.partition_cnt;
    }
    return out;
  }

  WatermarksAnswer watermarks(const std::vector<TopicPartition>& parts) override {
    WatermarksAnswer out;
    if (parts.empty()) return out;
    // librdkafka 2.0 fails a whole ListOffsets call when one partition
    // fails: ask each leader on its own (in parallel, so a dead broker costs
    // one timeout), and split a failing request to find the partitions.
    std::map<int32_t, std::vector<TopicPartition>> byLeader = groupByLeader(parts, out.errors);
    std::vector<LeaderWatermarks> queries(byLeader.size());
    std::vector<std::thread> threads;
    size_t i = 0;
    for (auto& [leader, tps] : byLeader)
      threads.emplace_back([&, at = i++, tps = std::move(tps)]() mutable {
        queries[at] = leaderWatermarks(rk_.get(), cfg_.timeoutMs, std::move(tps));
      });
    for (auto& t : threads) t.join();
    bool anyAnswer = false;
    std::string noAnswer;
    for (auto& q : queries) {
      anyAnswer |= q.answered;
      if (!q.noAnswer.empty()) noAnswer = q.noAnswer;
      out.marks.merge(q.out.marks);
      out.errors.merge(q.out.errors);
    }
    if (!anyAnswer && !noAnswer.empty())
      throw KafkaError("listing partition offsets failed: " + noAnswer);
    return out;
  }

  std::map<std::string, int> groups() override {
    // librdkafka's ListGroups + DescribeGroups on every broker. (Its admin
    // API for the same, ListConsumerGroups/DescribeConsumerGroups, aborts the
    // process on an internal assertion against brokers without them.)
    const rd_kafka_group_list* list = nullptr;
    rd_kafka_resp_err_t e =
        rd_kafka_list_groups(rk_.get(), nullptr, &list, static_cast<int>(cfg_.timeoutMs));
    std::unique_ptr<const rd_kafka_group_list, GroupListDeleter> owned(list);
    if (e) {
      std::string msg = std::string("listing consumer groups failed: ") + rd_kafka_err2str(e);
      if (unsupported(e)) throw KafkaUnsupported(msg);
      throw KafkaError(msg);
    }
    std::map<std::string, int> out;
    for (int i = 0; i < list->group_cnt; ++i) {
      const rd_kafka_group_info& g = list->groups[i];
      // Simple (assign-only) consumer groups commit offsets too: keep every
      // group the brokers describe.
      if (!g.err) out[g.group] = g.member_cnt;
    }
    return out;
  }

  std::map<std::string, GroupOffsets> committedOffsets(
      const std::vector<std::string>& groups,
      const std::vector<TopicPartition>& fallback) override {
    std::map<std::string, GroupOffsets> out;
    if (allPartitionsQuery_ != Support::No) {
      std::vector<Query> all;
      for (const auto& g : groups) all.push_back({g, nullptr});
      out = fetchOffsets(all);
      bool any = false;
      for (auto& [g, go] : out) any |= !go.committed.empty();
      if (any) allPartitionsQuery_ = Support::Yes;
    }
    std::vector<std::string> empty;
    for (const auto& g : groups)
      if (out[g].error.empty() && out[g].committed.empty()) empty.push_back(g);
    // Where the brokers answer for all of a group's partitions, an empty
    // answer is the truth: the group committed nothing.
    if (empty.empty() || fallback.empty() || allPartitionsQuery_ == Support::Yes) return out;
    // A group that answered nothing: the brokers cannot list a group's
    // partitions (the mock cluster), or it committed nothing yet. Ask for
    // the topics it committed on before, and for every candidate partition
    // when that is not known (or every kFullRecheck cycles, staggered per
    // group, to notice topics a group starts consuming).
    ++fallbackCycle_;
    std::vector<Query> learned, full;
    std::vector<ListPtr> lists;  // keep the partition lists alive
    for (const auto& g : empty) {
      auto it = learnedTopics_.find(g);
      bool recheck = (fallbackCycle_ + std::hash<std::string>{}(g)) % kFullRecheck == 0;
      if (it == learnedTopics_.end() || recheck) {
        full.push_back({g, nullptr});
        continue;
      }
      if (it->second.empty()) continue;  // nothing committed at the last full look
      lists.emplace_back(rd_kafka_topic_partition_list_new(16));
      for (const auto& [t, p] : fallback)
        if (it->second.count(t))
          rd_kafka_topic_partition_list_add(lists.back().get(), t.c_str(), p);
      learned.push_back({g, lists.back().get()});
    }
    ListPtr everything(rd_kafka_topic_partition_list_new(static_cast<int>(fallback.size())));
    for (const auto& [t, p] : fallback)
      rd_kafka_topic_partition_list_add(everything.get(), t.c_str(), p);
    for (auto& q : full) q.partitions = everything.get();
    auto keep = [&](std::map<std::string, GroupOffsets> answers) {
      for (auto& [g, go] : answers) {
        if (go.error.empty()) {
          std::set<std::string> seen;
          for (const auto& [tp, off] : go.committed) seen.insert(tp.first);
          learnedTopics_[g] = std::move(seen);
        }
        out[g] = std::move(go);
      }
    };
    keep(fetchOffsets(learned));
    // Full answers are big (every candidate partition): a few at a time.
    for (size_t i = 0; i < full.size(); i += kFullInFlight)
      keep(fetchOffsets(std::vector<Query>(
          full.begin() + i, full.begin() + std::min(full.size(), i + kFullInFlight))));
    if (allPartitionsQuery_ == Support::Unknown) {
      for (const auto& g : empty)
        if (!out[g].committed.empty())
          allPartitionsQuery_ = Support::No;  // only explicit queries find commits
    }
    return out;
  }

  TimestampsAnswer messageTimestamps(const std::vector<MessagePosition>& positions) override {
    // Its own handle, made at first use: a cluster without lagSeconds
    // opens no more connections.
    if (!reader_) {
      try {
        reader_ = std::make_unique<TimestampReader>(newHandle(readerProperties()), cfg_.timeoutMs);
      } catch (const KafkaError& e) {
        TimestampsAnswer out;
        for (const auto& pos : positions) out.errors[pos] = e.what();
        return out;
      }
    }
    return reader_->read(positions);
  }

 private:
  static constexpr uint64_t kFullRecheck = 20;
  static constexpr size_t kFullInFlight = 4;
  // Requests name at most this many partitions: librdkafka matches each
  // answer to its request entry by linear search (quadratic per request).
  static constexpr int kChunk = 500;

  // Every topic's metadata. Throws KafkaError when no broker answered.
  MetadataPtr metadata() {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e =
        rd_kafka_metadata(rk_.get(), 1, nullptr, &md, static_cast<int>(cfg_.timeoutMs));
    if (e) throw KafkaError("metadata request failed: " + std::string(rd_kafka_err2str(e)));
    return MetadataPtr(md);
  }

  // The partitions per leader broker; one without a leader (or unknown)
  // goes to `errors` at once.
  std::map<int32_t, std::vector<TopicPartition>> groupByLeader(
      const std::vector<TopicPartition>& parts, std::map<TopicPartition, std::string>& errors) {
    MetadataPtr md = metadata();
    std::map<std::string, const rd_kafka_metadata_topic_t*> topics;
    for (int i = 0; i < md->topic_cnt; ++i) topics[md->topics[i].topic] = &md->topics[i];
    std::map<int32_t, std::vector<TopicPartition>> out;
    for (const auto& tp : parts) {
      auto it = topics.find(tp.first);
      const rd_kafka_metadata_partition_t* p =
          it == topics.end() ? nullptr : findPartition(*it->second, tp.second);
      if (it != topics.end() && it->second->err)
        errors[tp] = rd_kafka_err2str(it->second->err);
      else if (!p)
        errors[tp] = "unknown partition " + partitionName(tp);
      else if (p->leader < 0)
        errors[tp] = std::string("no leader: ") +
                     rd_kafka_err2str(p->err ? p->err : RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
      else
        out[p->leader].push_back(tp);
    }
    return out;
  }

  // A group and the partitions to ask for (null: all it has).
  struct Query {
    std::string group;
    const rd_kafka_topic_partition_list_t* partitions;
  };

  std::map<std::string, GroupOffsets> fetchOffsets(const std::vector<Query>& queries) {
    std::map<std::string, GroupOffsets> out;
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(rk_.get()));
    // One request per group (librdkafka's limit) and per chunk of
    // partitions, all in flight at once.
    size_t requests = 0;
    auto send = [&](const std::string& group, const rd_kafka_topic_partition_list_t* list) {
      rd_kafka_AdminOptions_t* opts =
          rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
      rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(cfg_.timeoutMs), nullptr, 0);
      // librdkafka copies the list: the caller's can go at once.
      rd_kafka_ListConsumerGroupOffsets_t* req =
          rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), list);
      rd_kafka_ListConsumerGroupOffsets(rk_.get(), &req, 1, opts, q.get());
      rd_kafka_ListConsumerGroupOffsets_destroy(req);
      rd_kafka_AdminOptions_destroy(opts);
      ++requests;
    };
    for (const auto& [g, partitions] : queries) {
      out[g].error = "no answer in time";
      if (!partitions || partitions->cnt <= kChunk) {
        send(g, partitions);
        continue;
      }
      for (int i = 0; i < partitions->cnt; i += kChunk) {
        ListPtr chunk(rd_kafka_topic_partition_list_new(kChunk));
        for (int k = i; k < std::min(partitions->cnt, i + kChunk); ++k)
          rd_kafka_topic_partition_list_add(chunk.get(), partitions->elems[k].topic,
                                            partitions->elems[k].partition);
        send(g, chunk.get());
      }
    }
    std::map<std::string, size_t> pending;  // answers still due per group
    for (const auto& [g, partitions] : queries)
      pending[g] +=
          partitions && partitions->cnt > kChunk ? (partitions->cnt + kChunk - 1) / kChunk : 1;
    // The requests' own timeout, plus a moment for their answers to arrive.
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg_.timeoutMs + 250);
    for (size_t got = 0; got < requests;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      EventPtr ev(rd_kafka_queue_poll(q.get(), static_cast<int>(left.count())));
      if (!ev) break;
      if (rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT) continue;
      ++got;
      const auto* res = rd_kafka_event_ListConsumerGroupOffsets_result(ev.get());
      size_t n = 0;
      const rd_kafka_group_result_t** results =
          rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n);
      for (size_t i = 0; i < n; ++i) {
        std::string g = rd_kafka_group_result_name(results[i]);
        GroupOffsets& go = out[g];
        // The group's first failure sticks; its last answer clears the wait.
        if (go.error == "no answer in time" && --pending[g] == 0) go.error.clear();
        if (const rd_kafka_error_t* e = rd_kafka_group_result_error(results[i])) {
          go.error = rd_kafka_error_string(e);
          continue;
        }
        const rd_kafka_topic_partition_list_t* parts = rd_kafka_group_result_partitions(results[i]);
        for (int k = 0; parts && k < parts->cnt; ++k) {
          const auto& el = parts->elems[k];
          if (el.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;  // deleted meanwhile
          if (el.err) {
            go.error = std::string(el.topic) + "[" + std::to_string(el.partition) +
                       "]: " + rd_kafka_err2str(el.err);
            break;
          }
          if (el.offset >= 0) go.committed[{el.topic, el.partition}] = el.offset;
        }
      }
      if (n == 0) {
        // A request-level failure does not name its group: the first one
        // still waiting takes it.
        std::string err =
            rd_kafka_event_error(ev.get()) ? rd_kafka_event_error_string(ev.get()) : "failed";
        for (auto& [g, go] : out)
          if (go.error == "no answer in time") {
            go.error = err;
            break;
          }
      }
    }
    return out;
  }

  KafkaClusterConfig cfg_;
  KafkaLogSink log_;
  HandlePtr rk_;
  std::unique_ptr<TimestampReader> reader_;
  std::map<std::string, std::set<std::string>> learnedTopics_;
  uint64_t fallbackCycle_ = 0;
  // Whether these brokers answer an offset fetch for all of a group's
  // partitions (real Kafka since 0.10.2 does; the mock cluster does not).
  enum class Support { Unknown, Yes, No };
  Support allPartitionsQuery_ = Support::Unknown;
};

}  // namespace

std::unique_ptr<KafkaClient> makeRdKafkaClient(const KafkaClusterConfig& cfg, KafkaLogSink log) {
  return std::make_unique<RdKafkaClient>(cfg, std::move(log));
}

}  // namespace queue_stats
