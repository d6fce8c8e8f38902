// queue-bench: queue-stats' collection cycles at scale.
//  1. Kafka: 10,000 partitions in 100 groups (100 topics x 100 partitions,
//     each group on its own topic) on librdkafka's mock cluster.
//  2. SQS: 1,000 queues through the SigV4-verifying proxy in front of the
//     fauxqs emulator, at several concurrencies, against the same number
//     of unsigned GetQueueAttributes sent straight to the emulator.
// Prints a Markdown table.  queue-bench [--cycles N]
#include <unistd.h>

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
  std::string groups;
  for (int g = 0; g < 100; ++g)
    groups += (g ? ", " : "") + std::string("group-") + std::to_string(g);
  writeFile(dir.file("kafka.yaml"),
            "interval: 5s\nkafka:\n  - name: bench\n    bootstrapServers: \"" + kafka.bootstrap() +
                "\"\n    groups: [" + groups + "]\n    timeout: 20s\n");
  Run k = start(dir, dir.file("kafka.yaml"), {}, "qs-kafka");
  double kafkaSeconds = cycleSeconds(k, "kafka", "bench", cycles);
  // Per cycle, from the log: the first one learns which topics each group
  // reads (the mock cannot list a group's partitions); the rest are steady.
  std::vector<double> perCycle;
  {
    std::string log = k.proc->log();
    std::regex re("kafka cycle finished[^\n]*seconds=([0-9.]+)");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
         ++it)
      perCycle.push_back(std::stod((*it)[1]));
  }
  double steady = 0;
  for (size_t i = 1; i < perCycle.size(); ++i) steady += perCycle[i];
  steady = perCycle.size() > 1 ? steady / static_cast<double>(perCycle.size() - 1) : -1;
  for (int i = 0; i < 3; ++i)
    httpRequestPlain(k.port, "GET", "/metrics");  // scrapes count towards the peak
  std::string text = httpRequestPlain(k.port, "GET", "/metrics").body;
  size_t lagSeries = 0;
  for (size_t p = text.find("\nkafka_consumergroup_lag{"); p != std::string::npos;
       p = text.find("\nkafka_consumergroup_lag{", p + 1))
    ++lagSeries;
  double sample = metric(text,
                         "kafka_consumergroup_lag{cluster=\"bench\",consumergroup=\"group-7\","
                         "partition=\"42\",topic=\"topic-7\"}");
  long kafkaRss = bench::statusKb(k.proc->pid(), "VmRSS:"),
       kafkaHwm = bench::statusKb(k.proc->pid(), "VmHWM:");
  k.proc.reset();

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

  std::printf("## queue-stats (%u cores)\n\n", cores);
  std::printf(
      "### Kafka: one cycle over 10,000 partitions in 100 groups (librdkafka mock cluster, 3 "
      "brokers)\n\n");
  std::printf("| what | value |\n|---|---|\n");
  std::printf(
      "| steady cycle, mean of %zu (metadata, offsets of 100 groups, 2 x 10,000 watermarks) | %.3f "
      "s |\n",
      perCycle.size() > 1 ? perCycle.size() - 1 : 0, steady);
  std::printf(
      "| first cycle (learns each group's topics: the mock cannot list a group's partitions) | "
      "%.3f s |\n",
      perCycle.empty() ? -1.0 : perCycle[0]);
  std::printf("| mean over all %d cycles | %.3f s |\n", cycles, kafkaSeconds);
  std::printf("| lag series exported | %zu |\n", lagSeries);
  std::printf("| a sample: group-7, topic-7[42] lag (2 produced, 1 committed) | %.0f |\n", sample);
  std::printf("| RSS after %d cycles and 3 scrapes (3.9 MB each) / peak | %.1f MB / %.1f MB |\n",
              cycles, kafkaRss / 1024.0, kafkaHwm / 1024.0);
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
  return 0;
}
