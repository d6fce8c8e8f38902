// KafkaClient over librdkafka's C API.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "queue_stats/kafka_client.h"

namespace queue_stats {

namespace {

struct HandleDeleter {
  // Never in a group: nothing to close, and closing can wait forever.
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct GroupListDeleter {
  void operator()(const rd_kafka_group_list* l) const { rd_kafka_group_list_destroy(l); }
};
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;
using Properties = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

std::string partitionName(const TopicPartition& tp) {
  return tp.first + "[" + std::to_string(tp.second) + "]";
}

ListPtr partitionList(const TopicPartition& tp, int64_t offset) {
  ListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  return list;
}

const rd_kafka_metadata_partition_t* findPartition(const rd_kafka_metadata_topic_t& t, int32_t id) {
  // Brokers list partitions by id: look there first.
  if (id >= 0 && id < t.partition_cnt && t.partitions[id].id == id) return &t.partitions[id];
  for (int i = 0; i < t.partition_cnt; ++i)
    if (t.partitions[i].id == id) return &t.partitions[i];
  return nullptr;
}

// Local errors (timeouts, transport) mean the broker gave no answer.
bool noAnswerFrom(rd_kafka_resp_err_t err) { return err < 0; }

// One leader's partitions: ListOffsets in chunks; a chunk that fails is
// split in halves (a bounded number of times) to find the partitions that
// fail, since librdkafka 2.0 fails a whole request for one of them.
class WatermarkQuery {
 public:
  WatermarkQuery(rd_kafka_t* rk, int64_t timeoutMs, std::vector<TopicPartition> parts)
      : rk_(rk), timeoutMs_(timeoutMs), parts_(std::move(parts)) {}

  void run() {
    deadline_ = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    for (size_t b = 0; b < parts_.size(); b += kChunk)
      query(b, std::min(parts_.size(), b + kChunk));
  }

  WatermarksAnswer out;
  bool answered = false;  // some request got the broker's answer
  std::string noAnswer;   // why a request got none (the leader is not asked again)

  // Requests name at most this many partitions: librdkafka matches each
  // answer to its request entry by linear search (quadratic per request).
  static constexpr size_t kChunk = 500;

 private:
  static constexpr int kMaxSplits = 64;

  void query(size_t b, size_t e) {
    if (!noAnswer.empty()) return fail(b, e, "no answer: " + noAnswer);
    if (Clock::now() >= deadline_)
      return fail(b, e, "no answer within " + std::to_string(timeoutMs_) + "ms");
    std::map<TopicPartition, PartitionWatermarks> got;
    rd_kafka_resp_err_t err = ask(b, e, -1, got);
    if (!err) err = ask(b, e, -2, got);
    if (!err) {
      answered = true;
      out.marks.merge(got);
      return;
    }
    if (noAnswerFrom(err)) {
      noAnswer = rd_kafka_err2str(err);
      return fail(b, e, noAnswer);
    }
    answered = true;
    if (e - b == 1 || splitsLeft_ == 0) return fail(b, e, rd_kafka_err2str(err));
    --splitsLeft_;
    size_t mid = b + (e - b) / 2;
    query(b, mid);
    query(mid, e);
  }

  // ListOffsets with timestamp -1 (latest) or -2 (earliest).
  rd_kafka_resp_err_t ask(size_t b, size_t e, int64_t which,
                          std::map<TopicPartition, PartitionWatermarks>& got) {
    ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(e - b)));
    for (size_t i = b; i < e; ++i)
      rd_kafka_topic_partition_list_add(list.get(), parts_[i].first.c_str(), parts_[i].second)
          ->offset = which;
    int left = static_cast<int>(std::max<int64_t>(
        1,
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count()));
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_, list.get(), left);
    for (int i = 0; !err && i < list->cnt; ++i) {
      const auto& el = list->elems[i];
      if (el.err) return el.err;
      auto& w = got[{el.topic, el.partition}];
      (which == -1 ? w.high : w.low) = el.offset;
    }
    return err;
  }

  void fail(size_t b, size_t e, const std::string& why) {
    for (size_t i = b; i < e; ++i) out.errors[parts_[i]] = why;
  }

  rd_kafka_t* rk_;
  int64_t timeoutMs_;
  std::vector<TopicPartition> parts_;
  Clock::time_point deadline_;
  int splitsLeft_ = kMaxSplits;
};

// The consumer's settings for reading single messages: assign only (its
// group.id is never joined, librdkafka needs one to assign), small
// fetches, an error rather than a jump for an offset out of range.
const Properties kReaderProperties = {
    {"group.id", "queue-stats-timestamps"}, {"enable.auto.offset.store", "false"},
    {"enable.partition.eof", "true"},       {"auto.offset.reset", "error"},
    {"fetch.max.bytes", "65536"},           {"max.partition.fetch.bytes", "1024"},
    {"message.max.bytes", "65536"},         {"queued.max.messages.kbytes", "256"},
    {"fetch.wait.max.ms", "100"},           {"fetch.error.backoff.ms", "100"},
};

// Reads the first message at or after each position with one consumer
// kept across calls: every partition is assigned at its smallest asked
// offset, seeks on to its next one when a message answered, and is paused
// when it has no more; all within one timeout per call.
class TimestampReader {
 public:
  TimestampReader(HandlePtr rk, int64_t timeoutMs) : rk_(std::move(rk)), timeoutMs_(timeoutMs) {
    rd_kafka_poll_set_consumer(rk_.get());
  }

  TimestampsAnswer read(const std::vector<MessagePosition>& positions) {
    answer_ = {};
    cursors_.clear();
    for (const auto& pos : positions) {
      if (pos.offset < 0)
        answer_.errors[pos] = "invalid offset " + std::to_string(pos.offset);
      else
        cursors_[pos.tp].pending.push_back(pos.offset);
    }
    for (auto& [tp, c] : cursors_) {
      std::sort(c.pending.begin(), c.pending.end());
      c.pending.erase(std::unique(c.pending.begin(), c.pending.end()), c.pending.end());
    }
    open_ = cursors_.size();
    if (open_ > 0 && assign()) consume();
    for (auto& [tp, c] : cursors_)
      failRest(tp, c, "no message within " + std::to_string(timeoutMs_) + "ms");
    rd_kafka_assign(rk_.get(), nullptr);  // asynchronous: stops fetching
    return std::move(answer_);
  }

 private:
  // The offsets still to answer, in order; `next` is being read.
  struct Cursor {
    std::vector<int64_t> pending;
    size_t next = 0;
    bool done() const { return next >= pending.size(); }
  };

  bool assign() {
    ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(cursors_.size())));
    for (const auto& [tp, c] : cursors_)
      rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset =
          c.pending[0];
    // A partition paused in an earlier call stays paused when assigned again.
    rd_kafka_resume_partitions(rk_.get(), list.get());
    rd_kafka_resp_err_t err = rd_kafka_assign(rk_.get(), list.get());
    if (!err) return true;
    for (auto& [tp, c] : cursors_)
      failRest(tp, c, std::string("assigning partitions failed: ") + rd_kafka_err2str(err));
    return false;
  }

  void consume() {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    while (open_ > 0) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      MessagePtr m(
          rd_kafka_consumer_poll(rk_.get(), static_cast<int>(std::min<int64_t>(left, 100))));
      if (m) handle(*m);
    }
  }

  void handle(const rd_kafka_message_t& m) {
    if (!m.rkt) return;  // a client-wide error: librdkafka logs it and retries
    TopicPartition tp{rd_kafka_topic_name(m.rkt), m.partition};
    auto it = cursors_.find(tp);
    if (it == cursors_.end() || it->second.done()) return;
    Cursor& c = it->second;
    if (!m.err) return onMessage(tp, c, m);
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      return failRest(
          tp, c,
          "no message at or after the offset: the partition ends at " + std::to_string(m.offset));
    if (m.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m.err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      answer_.errors[{tp, c.pending[c.next++]}] = rd_kafka_message_errstr(&m);
      return advance(tp, c);
    }
    failRest(tp, c, rd_kafka_message_errstr(&m));
  }

  // The first message at or after the offset being read answers every
  // asked offset up to its own (a compacted or aborted range between).
  void onMessage(const TopicPartition& tp, Cursor& c, const rd_kafka_message_t& m) {
    if (m.offset < c.pending[c.next]) return;  // fetched before the last seek
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(&m, &type);
    for (; !c.done() && c.pending[c.next] <= m.offset; ++c.next) {
      MessagePosition pos{tp, c.pending[c.next]};
      if (ts >= 0)
        answer_.timestampsMs[pos] = ts;
      else
        answer_.errors[pos] =
            "the message at offset " + std::to_string(m.offset) + " has no timestamp";
    }
    advance(tp, c);
  }

  void advance(const TopicPartition& tp, Cursor& c) {
    if (c.done()) return finish(tp);
    ListPtr list = partitionList(tp, c.pending[c.next]);
    ErrorPtr err(rd_kafka_seek_partitions(rk_.get(), list.get(), 0));  // 0: asynchronous
    if (err) failRest(tp, c, std::string("seek failed: ") + rd_kafka_error_string(err.get()));
  }

  void failRest(const TopicPartition& tp, Cursor& c, const std::string& why) {
    if (c.done()) return;
    for (; !c.done(); ++c.next) answer_.errors[{tp, c.pending[c.next]}] = why;
    finish(tp);
  }

  // Stops fetching a partition with nothing more to read, so the small
  // fetches go to the others.
  void finish(const TopicPartition& tp) {
    rd_kafka_pause_partitions(rk_.get(), partitionList(tp, RD_KAFKA_OFFSET_INVALID).get());
    --open_;
  }

  HandlePtr rk_;
  int64_t timeoutMs_;
  std::map<TopicPartition, Cursor> cursors_;
  size_t open_ = 0;
  TimestampsAnswer answer_;
};

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
    std::vector<WatermarkQuery> queries;
    for (auto& [leader, tps] : byLeader)
      queries.emplace_back(rk_.get(), cfg_.timeoutMs, std::move(tps));
    std::vector<std::thread> threads;
    for (auto& q : queries) threads.emplace_back([&q] { q.run(); });
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
        reader_ = std::make_unique<TimestampReader>(newHandle(kReaderProperties), cfg_.timeoutMs);
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
  static constexpr int kChunk = static_cast<int>(WatermarkQuery::kChunk);

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
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg_.timeoutMs + 2000);
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
