// queue-bench: queue-stats' collection cycles at scale.
//  1. Kafka: 10,000 partitions in 100 groups (100 topics x 100 partitions,
//     each group on its own topic) on librdkafka's mock cluster, every
//     partition lagging, so each needs its lag in seconds (one message
//     read; cached while the commit does not move). Also with
//     `lagSeconds: false`, and with every commit moving each cycle.
//  2. SQS: 1,000 queues through the SigV4-verifying proxy in front of the
//     fauxqs emulator, at several concurrencies, against the same number
//     of unsigned GetQueueAttributes sent straight to the emulator.
// Prints a Markdown table; exits non-zero when a check fails.
//   queue-bench [--cycles N]
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "bench_support.h"
#include "queue_peers.h"
#include "test_support.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

double metric(const std::string& text, const std::string& series) {
  auto p = text.find(series + " ");
  return p == std::string::npos ? -1 : std::stod(text.substr(p + series.size() + 1));
}

struct Run {
  std::unique_ptr<ChildProcess> proc;
  int port = 0;
};

Run start(const TempDir& dir, const std::string& config, const std::vector<std::string>& env,
          const std::string& name) {
  std::vector<std::string> argv{"env", "HOME=" + dir.path().string(),
                                "AWS_EC2_METADATA_DISABLED=true"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), {binary("queue-stats"), "--config", config, "--listen", "127.0.0.1:0",
                           "--grpc-listen", "", "--v", "1"});
  Run r;
  r.proc = std::make_unique<ChildProcess>(argv, dir.file(name + ".log"));
  if (!r.proc->waitForLog("serving metrics", 30s)) throw std::runtime_error(r.proc->log());
  std::smatch m;
  std::string log = r.proc->log();
  std::regex_search(log, m, std::regex("address=127.0.0.1:([0-9]+)"));
  r.port = std::stoi(m[1]);
  return r;
}

// Waits for `cycles` completed cycles of `target`; returns mean seconds.
double cycleSeconds(const Run& r, const std::string& source, const std::string& target,
                    int cycles) {
  std::string labels = "{source=\"" + source + "\",target=\"" + target + "\"}";
  auto deadline = std::chrono::steady_clock::now() + 600s;
  std::string text;
  while (std::chrono::steady_clock::now() < deadline) {
    text = httpRequestPlain(r.port, "GET", "/metrics").body;
    if (metric(text, "queue_stats_collection_duration_seconds_count" + labels) >= cycles) break;
    std::this_thread::sleep_for(200ms);
  }
  double n = metric(text, "queue_stats_collection_duration_seconds_count" + labels);
  // The first cycle connects and resolves; the mean of the rest is the steady state.
  return n > 0 ? metric(text, "queue_stats_collection_duration_seconds_sum" + labels) / n : -1;
}

double directAttributes(int port, const std::vector<std::string>& names) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  asio::io_context ioc;
  asio::ip::tcp::socket sock(ioc);
  sock.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  boost::beast::flat_buffer buf;
  auto call = [&](const std::string& target, const std::string& body) {
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/x-amz-json-1.0");
    req.set("X-Amz-Target", "AmazonSQS." + target);
    req.body() = body;
    req.prepare_payload();
    http::write(sock, req);
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    return nlohmann::json::parse(res.body());
  };
  std::vector<std::string> urls;
  for (const auto& n : names)
    urls.push_back(call("GetQueueUrl", nlohmann::json{{"QueueName", n}}.dump())["QueueUrl"]);
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& u : urls)
    call("GetQueueAttributes",
         nlohmann::json{{"QueueUrl", u},
                        {"AttributeNames",
                         {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                          "ApproximateNumberOfMessagesDelayed"}}}
             .dump());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The seconds of each "kafka cycle finished" in the log, in order.
std::vector<double> cycleLog(const Run& r) {
  std::vector<double> out;
  std::string log = r.proc->log();
  std::regex re("kafka cycle finished[^\n]*seconds=([0-9.]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back(std::stod((*it)[1]));
  return out;
}

// Waits until the log shows `n` finished cycles (and their publish).
std::vector<double> waitCycles(const Run& r, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 300s;
  std::vector<double> c = cycleLog(r);
  while (c.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    c = cycleLog(r);
  }
  std::this_thread::sleep_for(100ms);  // published right after the log line
  return c;
}

double meanFrom(const std::vector<double>& v, size_t first) {
  double s = 0;
  for (size_t i = first; i < v.size(); ++i) s += v[i];
  return v.size() > first ? s / static_cast<double>(v.size() - first) : -1;
}

size_t countSeries(const std::string& text, const std::string& family) {
  size_t n = 0;
  for (size_t p = text.find("\n" + family + "{"); p != std::string::npos;
       p = text.find("\n" + family + "{", p + 1))
    ++n;
  return n;
}

std::string kafkaConfig(const KafkaMock& kafka, bool lagSeconds,
                        const std::string& interval = "5s") {
  std::string groups;
  for (int g = 0; g < 100; ++g)
    groups += (g ? ", " : "") + std::string("group-") + std::to_string(g);
  return "interval: " + interval + "\nkafka:\n  - name: bench\n    bootstrapServers: \"" +
         kafka.bootstrap() + "\"\n    groups: [" + groups + "]\n    timeout: 20s\n" +
         (lagSeconds ? "" : "    lagSeconds: false\n");
}

// Moves the commits of group-i on topic-i (100 partitions each) to
// `offset`, all 100 groups at once through the admin API.
class Committer {
 public:
  explicit Committer(const std::string& bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(err);
    q_ = rd_kafka_queue_new(rk_);
  }
  ~Committer() {
    rd_kafka_queue_destroy(q_);
    rd_kafka_destroy(rk_);
  }
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // The number of partitions that failed.
  int commitAll(int64_t offset) {
    for (int g = 0; g < 100; ++g) {
      std::string topic = "topic-" + std::to_string(g);
      rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(100);
      for (int p = 0; p < 100; ++p)
        rd_kafka_topic_partition_list_add(l, topic.c_str(), p)->offset = offset;
      rd_kafka_AlterConsumerGroupOffsets_t* a =
          rd_kafka_AlterConsumerGroupOffsets_new(("group-" + std::to_string(g)).c_str(), l);
      rd_kafka_AlterConsumerGroupOffsets(rk_, &a, 1, nullptr, q_);
      rd_kafka_AlterConsumerGroupOffsets_destroy(a);
      rd_kafka_topic_partition_list_destroy(l);
    }
    int failed = 0;
    for (int done = 0; done < 100;) {
      rd_kafka_event_t* ev = rd_kafka_queue_poll(q_, 60000);
      if (!ev) return failed + 100 * (100 - done);
      if (rd_kafka_event_type(ev) != RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT) {
        rd_kafka_event_destroy(ev);
        continue;
      }
      ++done;
      if (rd_kafka_event_error(ev)) {
        failed += 100;
      } else {
        size_t n = 0;
        const rd_kafka_group_result_t** gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
            rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
        for (size_t i = 0; i < n; ++i) {
          if (rd_kafka_group_result_error(gr[i])) {
            failed += 100;
            continue;
          }
          const rd_kafka_topic_partition_list_t* parts = rd_kafka_group_result_partitions(gr[i]);
          for (int p = 0; parts && p < parts->cnt; ++p)
            if (parts->elems[p].err) ++failed;
        }
      }
      rd_kafka_event_destroy(ev);
    }
    return failed;
  }

 private:
  rd_kafka_t* rk_;
  rd_kafka_queue_t* q_;
};

}  // namespace

int main(int argc, char** argv) {
  int cycles = 4;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--cycles") cycles = std::stoi(argv[i + 1]);
  TempDir dir;
  unsigned cores = std::thread::hardware_concurrency();

  // --- Kafka ---
  KafkaMock kafka(dir, 3);
  auto t0 = std::chrono::steady_clock::now();
  kafka.cmd("fill 100 100 100 2");
  double fillSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int failures = 0;
  auto fail = [&](const std::string& what) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  };
  const std::string lagSecondsFamily = "kafka_consumergroup_lag_seconds";
  writeFile(dir.file("kafka.yaml"), kafkaConfig(kafka, true));
  Run k = start(dir, dir.file("kafka.yaml"), {}, "qs-kafka");
  double kafkaSeconds = cycleSeconds(k, "kafka", "bench", cycles);
  // Per cycle, from the log: the first one learns which topics each group
  // reads (the mock cannot list a group's partitions) and reads the
  // 10,000 oldest unread messages; the rest are steady (timestamps cached).
  std::vector<double> perCycle = cycleLog(k);
  double steady = meanFrom(perCycle, 1);
  for (int i = 0; i < 3; ++i)
    httpRequestPlain(k.port, "GET", "/metrics");  // scrapes count towards the peak
  std::string text = httpRequestPlain(k.port, "GET", "/metrics").body;
  size_t lagSeries = countSeries(text, "kafka_consumergroup_lag");
  size_t lagSecondsSeries = countSeries(text, lagSecondsFamily);
  size_t scrapeBytes = text.size();
  if (lagSeries != 10000) fail("lag series: " + std::to_string(lagSeries) + ", not 10000");
  if (lagSecondsSeries != 10000)
    fail("lag seconds series: " + std::to_string(lagSecondsSeries) + ", not 10000");
  double sample = metric(text,
                         "kafka_consumergroup_lag{cluster=\"bench\",consumergroup=\"group-7\","
                         "partition=\"42\",topic=\"topic-7\"}");
  double sampleSeconds = metric(text,
                                "kafka_consumergroup_lag_seconds{cluster=\"bench\",consumergroup="
                                "\"group-7\",partition=\"42\",topic=\"topic-7\"}");
  long kafkaRss = bench::statusKb(k.proc->pid(), "VmRSS:"),
       kafkaHwm = bench::statusKb(k.proc->pid(), "VmHWM:");
  k.proc.reset();

  // The same without lag seconds: what reading and caching the timestamps costs.
  writeFile(dir.file("kafka-nosec.yaml"), kafkaConfig(kafka, false));
  Run ns = start(dir, dir.file("kafka-nosec.yaml"), {}, "qs-kafka-nosec");
  cycleSeconds(ns, "kafka", "bench", cycles);
  std::vector<double> nsCycles = cycleLog(ns);
  httpRequestPlain(ns.port, "GET", "/metrics");
  if (size_t n = countSeries(httpRequestPlain(ns.port, "GET", "/metrics").body, lagSecondsFamily))
    fail("lagSeconds: false still exports " + std::to_string(n) + " lag seconds series");
  long nsHwm = bench::statusKb(ns.proc->pid(), "VmHWM:"),
       nsRss = bench::statusKb(ns.proc->pid(), "VmRSS:");
  ns.proc.reset();

  // Every commit moves each cycle (1 -> 0 -> 1 ...): no timestamp is cached,
  // each cycle reads all 10,000. The commits are moved right after a cycle
  // ends, well before the next starts: a 20 s schedule, as such a cycle
  // can take longer than 5 s (a cycle that overran would start at once,
  // before the commits moved; the lag check below catches that).
  std::vector<double> movedCycles, commitSeconds;
  long movedHwm = -1;
  int movedReadProblems = 0;  // cycles that logged timestamps not read
  {
    Committer committer(kafka.bootstrap());
    writeFile(dir.file("kafka-moving.yaml"), kafkaConfig(kafka, true, "20s"));
    Run mv = start(dir, dir.file("kafka-moving.yaml"), {}, "qs-kafka-moving");
    waitCycles(mv, 1);
    for (int i = 0; i < cycles; ++i) {
      int64_t offset = i % 2 == 0 ? 0 : 1;
      size_t seen = cycleLog(mv).size();
      auto c0 = std::chrono::steady_clock::now();
      if (int bad = committer.commitAll(offset))
        fail(std::to_string(bad) + " partitions not committed at " + std::to_string(offset));
      commitSeconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count());
      if (cycleLog(mv).size() != seen) fail("a cycle ended while the commits moved");
      std::vector<double> all = waitCycles(mv, seen + 1);
      if (all.size() <= seen) {
        fail("no cycle after the commits moved");
        break;
      }
      movedCycles.push_back(all[seen]);
      std::string m = httpRequestPlain(mv.port, "GET", "/metrics").body;
      double lag = metric(m,
                          "kafka_consumergroup_lag{cluster=\"bench\",consumergroup=\"group-7\","
                          "partition=\"42\",topic=\"topic-7\"}");
      if (lag != static_cast<double>(2 - offset))
        fail("after the commit moved to " + std::to_string(offset) + " the lag is " +
             std::to_string(lag));
      if (size_t n = countSeries(m, lagSecondsFamily); n != 10000)
        fail("moving commits: " + std::to_string(n) + " lag seconds series, not 10000");
    }
    movedHwm = bench::statusKb(mv.proc->pid(), "VmHWM:");
    std::string log = mv.proc->log();
    for (size_t p = log.find("kafka collection problem"); p != std::string::npos;
         p = log.find("kafka collection problem", p + 1)) {
      std::string line = log.substr(p, log.find('\n', p) - p);
      if (line.find("lagSeconds") == std::string::npos) continue;
      if (movedReadProblems++ == 0) std::fprintf(stderr, "moving commits: %s\n", line.c_str());
    }
    // Back where `fill` left them.
    if (cycles % 2 == 1 && committer.commitAll(1)) fail("commits not restored");
  }

  // --- SQS ---
  SqsPeer peer(dir, /*tls=*/true);
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back("q-" + std::to_string(i));
  peer.control({{"op", "createQueues"}, {"names", names}});
  for (int i = 0; i < 1000; i += 100)
    peer.control({{"op", "send"}, {"queue", names[i]}, {"count", 3}});
  struct SqsRow {
    int concurrency;
    double seconds;
    double visibleTotal;
    long rss;
  };
  std::vector<SqsRow> rows;
  for (int c : {1, 10, 32}) {
    writeFile(dir.file("sqs.yaml"),
              "interval: 2s\nsqs:\n  region: us-east-1\n  endpoint: " + peer.endpoint() +
                  "\n  caFile: " + peer.caFile() +
                  "\n  queueNamePrefixes: [q-]\n  concurrency: " + std::to_string(c) + "\n");
    Run s =
        start(dir, dir.file("sqs.yaml"),
              {"AWS_ACCESS_KEY_ID=AKIDQUEUESTATS", "AWS_SECRET_ACCESS_KEY=queue-stats-test-secret"},
              "qs-sqs-" + std::to_string(c));
    double secs = cycleSeconds(s, "sqs", "sqs", cycles);
    std::string m = httpRequestPlain(s.port, "GET", "/metrics").body;
    double visible = 0;
    for (size_t p = m.find("\naws_sqs_approximate_number_of_messages_visible{");
         p != std::string::npos;
         p = m.find("\naws_sqs_approximate_number_of_messages_visible{", p + 1))
      visible += std::stod(m.substr(m.find("} ", p) + 2));
    rows.push_back({c, secs, visible, bench::statusKb(s.proc->pid(), "VmHWM:")});
  }
  auto st = peer.control({{"op", "stats"}});
  // Baseline: the same 1,000 GetQueueAttributes straight to the emulator
  // (plain HTTP, unsigned, no proxy), one keep-alive connection.
  double baseline = directAttributes(peer.emulatorPort(), names);

  std::string movedList;
  for (double c : movedCycles) {
    char b[16];
    std::snprintf(b, sizeof b, "%.2f", c);
    movedList += (movedList.empty() ? "" : ", ") + std::string(b);
  }
  std::printf("## queue-stats (%u cores)\n\n", cores);
  std::printf(
      "### Kafka: one cycle over 10,000 partitions in 100 groups (librdkafka mock cluster, 3 "
      "brokers)\n\n");
  std::printf("| what | value |\n|---|---|\n");
  std::printf(
      "| steady cycle, mean of %zu (metadata, offsets of 100 groups, 2 x 10,000 watermarks, "
      "10,000 lag seconds from cached timestamps) | %.3f s |\n",
      perCycle.size() > 1 ? perCycle.size() - 1 : 0, steady);
  std::printf(
      "| first cycle (learns each group's topics: the mock cannot list a group's partitions; "
      "reads 10,000 message timestamps) | %.3f s |\n",
      perCycle.empty() ? -1.0 : perCycle[0]);
  std::printf("| mean over all %d cycles | %.3f s |\n", cycles, kafkaSeconds);
  std::printf(
      "| with `lagSeconds: false`: first cycle / steady (mean of %zu) / RSS after / peak | %.3f s "
      "/ "
      "%.3f s / %.1f MB / %.1f MB |\n",
      nsCycles.size() > 1 ? nsCycles.size() - 1 : 0, nsCycles.empty() ? -1.0 : nsCycles[0],
      meanFrom(nsCycles, 1), nsRss / 1024.0, nsHwm / 1024.0);
  std::printf(
      "| every commit moving each cycle (all 10,000 timestamps read again): cycle mean / max of "
      "%zu (each: %s; cycles with timestamps not read: %d) | %.3f s / %.3f s |\n",
      movedCycles.size(), movedList.c_str(), movedReadProblems, meanFrom(movedCycles, 0),
      movedCycles.empty() ? -1.0 : *std::max_element(movedCycles.begin(), movedCycles.end()));
  std::printf(
      "| &nbsp;&nbsp;its peak RSS; moving 10,000 commits (admin API, 100 groups) took, max | %.1f "
      "MB; %.2f s |\n",
      movedHwm / 1024.0,
      commitSeconds.empty() ? -1.0 : *std::max_element(commitSeconds.begin(), commitSeconds.end()));
  std::printf("| lag series exported / lag seconds series exported | %zu / %zu |\n", lagSeries,
              lagSecondsSeries);
  std::printf(
      "| a sample: group-7, topic-7[42] lag (2 produced, 1 committed) / lag seconds | %.0f / %.1f "
      "s |\n",
      sample, sampleSeconds);
  std::printf("| RSS after %d cycles and 3 scrapes (%.1f MB each) / peak | %.1f MB / %.1f MB |\n",
              cycles, scrapeBytes / 1048576.0, kafkaRss / 1024.0, kafkaHwm / 1024.0);
  std::printf("| mock cluster setup (100 topics, 20,000 messages, 10,000 commits) | %.1f s |\n\n",
              fillSeconds);
  std::printf(
      "### SQS: 1,000 queues per cycle (ListQueues + GetQueueAttributes over HTTPS, SigV4, "
      "verified by the proxy)\n\n");
  std::printf(
      "| concurrency | mean cycle s | queues/s | visible messages summed (30 sent) | peak RSS MB "
      "|\n|---|---|---|---|---|\n");
  for (const auto& r : rows)
    std::printf("| %d | %.3f | %.0f | %.0f | %.1f |\n", r.concurrency, r.seconds,
                1000.0 / r.seconds, r.visibleTotal, r.rss / 1024.0);
  std::printf(
      "| baseline: the same 1,000 GetQueueAttributes straight to the emulator (plain HTTP, "
      "unsigned, sequential) | %.3f | %.0f | | |\n",
      baseline, 1000.0 / baseline);
  std::printf("\nRequests the proxy verified with @smithy/signature-v4: %d, rejected: %d.\n",
              st["verified"].get<int>(), st["rejected"].get<int>());
  if (failures) std::fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
