// kafka-mock-cluster: librdkafka's mock cluster (the real Kafka protocol
// on loopback) as a process tests drive line by line on stdin:
//   topic NAME PARTITIONS
//   produce TOPIC PARTITION COUNT [BYTES]     one message set per message
//   produce_ts TOPIC PARTITION COUNT TS STEP [PER_BATCH]
//                                             CreateTimes TS, TS+STEP, ... (ms);
//                                             PER_BATCH messages per set (1)
//   commit GROUP TOPIC PARTITION OFFSET       a simple-consumer commit
//   fill GROUPS TOPICS PARTITIONS MESSAGES    bench setup: group-i on topic-i
//   down BROKER | up BROKER
//   error API COUNT CODE                      push request errors (API by key)
//   broker_error BROKER API COUNT CODE        the same on one broker only
//   topic_error TOPIC CODE                    the topic's metadata fails (0 clears)
//   leader TOPIC PARTITION BROKER             move a leader (-1: none)
//   rtt BROKER MS
//   watermarks TOPIC PARTITION                prints "wm LOW HIGH"
// Each command answers "ok N" (N counts commands) or "err N message" on
// stdout; the first line is "bootstrap HOST:PORT,...".
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

rd_kafka_t* newClient(rd_kafka_type_t type,
                      const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::cerr << k << ": " << err << "\n";
      std::exit(2);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    std::cerr << err << "\n";
    std::exit(2);
  }
  return rk;
}

class Cluster {
 public:
  explicit Cluster(int brokers) {
    mockOwner_ = newClient(RD_KAFKA_PRODUCER, {{"test.mock.num.brokers", std::to_string(brokers)},
                                               {"log_level", "3"}});
    mc_ = rd_kafka_handle_mock_cluster(mockOwner_);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc_);
    producer_ = newClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap_},
                                              {"linger.ms", "0"},
                                              {"batch.num.messages", "1"},
                                              {"message.max.bytes", "2000000"},
                                              {"log_level", "3"}});
    // Sends what it has on flush only: produce_ts chooses the message sets.
    batcher_ = newClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap_},
                                             {"linger.ms", "60000"},
                                             {"batch.num.messages", "100000"},
                                             {"log_level", "3"}});
  }
  const std::string& bootstrap() const { return bootstrap_; }

  std::string run(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "topic") {
      std::string name;
      int parts;
      in >> name >> parts;
      return check(rd_kafka_mock_topic_create(mc_, name.c_str(), parts, 1));
    }
    if (cmd == "produce") {
      std::string topic;
      int part, count;
      size_t bytes = 16;
      in >> topic >> part >> count;
      if (!(in >> bytes)) bytes = 16;
      return produce(topic, part, count, bytes);
    }
    if (cmd == "produce_ts") {
      std::string topic;
      int part, count, perBatch = 1;
      long long ts, step;
      in >> topic >> part >> count >> ts >> step;
      if (!(in >> perBatch) || perBatch < 1) perBatch = 1;
      return produceAt(topic, part, count, ts, step, perBatch);
    }
    if (cmd == "broker_error") {
      int broker, api, count, code;
      in >> broker >> api >> count >> code;
      for (int i = 0; i < count; ++i)
        if (auto e = check(rd_kafka_mock_broker_push_request_error_rtts(
                mc_, broker, static_cast<int16_t>(api), 1, static_cast<rd_kafka_resp_err_t>(code),
                0));
            !e.empty())
          return e;
      return "";
    }
    if (cmd == "topic_error") {
      std::string topic;
      int code;
      in >> topic >> code;
      rd_kafka_mock_topic_set_error(mc_, topic.c_str(), static_cast<rd_kafka_resp_err_t>(code));
      return "";
    }
    if (cmd == "leader") {
      std::string topic;
      int part, broker;
      in >> topic >> part >> broker;
      return check(rd_kafka_mock_partition_set_leader(mc_, topic.c_str(), part, broker));
    }
    if (cmd == "commit") {
      std::string group, topic;
      int part;
      long long offset;
      in >> group >> topic >> part >> offset;
      rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(l, topic.c_str(), part)->offset = offset;
      std::string r = commit(group, l);
      rd_kafka_topic_partition_list_destroy(l);
      return r;
    }
    if (cmd == "fill") {
      int groups, topics, parts, messages;
      in >> groups >> topics >> parts >> messages;
      return fill(groups, topics, parts, messages);
    }
    if (cmd == "down" || cmd == "up") {
      int id;
      in >> id;
      return check(cmd == "down" ? rd_kafka_mock_broker_set_down(mc_, id)
                                 : rd_kafka_mock_broker_set_up(mc_, id));
    }
    if (cmd == "error") {
      int api, count, code;
      in >> api >> count >> code;
      std::vector<rd_kafka_resp_err_t> errs(static_cast<size_t>(count),
                                            static_cast<rd_kafka_resp_err_t>(code));
      rd_kafka_mock_push_request_errors_array(mc_, static_cast<int16_t>(api), errs.size(),
                                              errs.data());
      return "";
    }
    if (cmd == "rtt") {
      int id, ms;
      in >> id >> ms;
      return check(rd_kafka_mock_broker_set_rtt(mc_, id, ms));
    }
    if (cmd == "watermarks") {
      std::string topic;
      int part;
      in >> topic >> part;
      int64_t lo = 0, hi = 0;
      rd_kafka_resp_err_t e =
          rd_kafka_query_watermark_offsets(producer_, topic.c_str(), part, &lo, &hi, 5000);
      if (e) return rd_kafka_err2str(e);
      std::cout << "wm " << lo << " " << hi << "\n";
      return "";
    }
    return "unknown command " + cmd;
  }

 private:
  static std::string check(rd_kafka_resp_err_t e) { return e ? rd_kafka_err2str(e) : ""; }

  std::string produce(const std::string& topic, int part, int count, size_t bytes) {
    std::string payload(bytes, 'x');
    for (int i = 0; i < count; ++i) {
      rd_kafka_resp_err_t e;
      while ((e = rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
                                    RD_KAFKA_V_PARTITION(part),
                                    RD_KAFKA_V_VALUE(payload.data(), payload.size()),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
             RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(producer_, 10);
      if (e) return rd_kafka_err2str(e);
      // One message set per message, so the log's size limit can be hit.
      if (bytes > 1000) rd_kafka_flush(producer_, 10000);
    }
    if (rd_kafka_flush(producer_, 30000)) return "flush timed out";
    return "";
  }

  // Messages whose CreateTime is set, PER_BATCH to a message set (the
  // batching producer sends on flush only).
  std::string produceAt(const std::string& topic, int part, int count, long long ts, long long step,
                        int perBatch) {
    for (int i = 0; i < count; ++i) {
      std::string value = "m" + std::to_string(i);
      rd_kafka_resp_err_t e = rd_kafka_producev(
          batcher_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(part),
          RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_TIMESTAMP(ts + i * step), RD_KAFKA_V_END);
      if (e) return rd_kafka_err2str(e);
      if ((i + 1) % perBatch == 0 || i + 1 == count)
        if (rd_kafka_flush(batcher_, 30000)) return "flush timed out";
    }
    return "";
  }

  std::string commit(const std::string& group, rd_kafka_topic_partition_list_t* l) {
    auto& c = consumers_[group];
    if (!c)
      c = newClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap_},
                                        {"group.id", group},
                                        {"enable.auto.commit", "false"},
                                        {"log_level", "3"}});
    rd_kafka_resp_err_t e = rd_kafka_commit(c, l, 0);
    if (e) return rd_kafka_err2str(e);
    for (int i = 0; i < l->cnt; ++i)
      if (l->elems[i].err)
        return std::string(l->elems[i].topic) + "[" + std::to_string(l->elems[i].partition) +
               "]: " + rd_kafka_err2str(l->elems[i].err);
    return "";
  }

  std::string fill(int groups, int topics, int parts, int messages) {
    for (int t = 0; t < topics; ++t) {
      std::string name = "topic-" + std::to_string(t);
      if (auto e = check(rd_kafka_mock_topic_create(mc_, name.c_str(), parts, 1)); !e.empty())
        return e;
    }
    for (int t = 0; t < topics; ++t)
      for (int p = 0; p < parts; ++p)
        for (int m = 0; m < messages; ++m)
          while (rd_kafka_producev(
                     producer_, RD_KAFKA_V_TOPIC(("topic-" + std::to_string(t)).c_str()),
                     RD_KAFKA_V_PARTITION(p), RD_KAFKA_V_VALUE(const_cast<char*>("m"), 1),
                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(producer_, 10);
    if (rd_kafka_flush(producer_, 120000)) return "flush timed out";
    for (int g = 0; g < groups; ++g) {
      std::string topic = "topic-" + std::to_string(g % topics);
      rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(parts);
      for (int p = 0; p < parts; ++p)
        rd_kafka_topic_partition_list_add(l, topic.c_str(), p)->offset = messages / 2;
      std::string e = commit("group-" + std::to_string(g), l);
      rd_kafka_topic_partition_list_destroy(l);
      if (!e.empty()) return e;
    }
    return "";
  }

  rd_kafka_t* mockOwner_;
  rd_kafka_mock_cluster_t* mc_;
  rd_kafka_t* producer_;
  rd_kafka_t* batcher_;
  std::string bootstrap_;
  std::map<std::string, rd_kafka_t*> consumers_;
};

}  // namespace

int main(int argc, char** argv) {
  int brokers = argc > 1 ? std::atoi(argv[1]) : 3;
  Cluster cluster(brokers);
  std::cout << "bootstrap " << cluster.bootstrap() << std::endl;
  std::string line;
  for (int n = 1; std::getline(std::cin, line); ++n) {
    if (line == "quit") break;
    std::string err = cluster.run(line);
    std::cout << (err.empty() ? "ok " + std::to_string(n) : "err " + std::to_string(n) + " " + err)
              << std::endl;
  }
  return 0;
}
