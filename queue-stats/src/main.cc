// queue-stats: Kafka consumer lag and SQS queue depth, exported for
// scaling. Collects every --config interval; reloads on SIGHUP.
#include <curl/curl.h>
#include <signal.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>

#include "queue_stats/app.h"
#include "queue_stats/grpc_services.h"
#include "queue_stats/http_server.h"

namespace {

constexpr const char* kVersion = "v0.1.0";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string config, listen = ":9308", logFormat = "text";
  queue_stats::GrpcOptions grpcOpts;
  grpcOpts.listen = ":9309";
  int verbosity = 0;
  po::options_description desc(
      "queue-stats: Kafka consumer lag and SQS queue depth for autoscaling.\n\nFlags");
  // clang-format off
  desc.add_options()
    ("help,h", "Print this help.")
    ("version", "Print the version.")
    ("config", po::value(&config), "Config file (YAML); reloaded on SIGHUP, a broken one keeps the old.")
    ("check-config", "Validate --config, print what is wrong (file:line:column) and exit: 0 valid, 1 not.")
    ("listen", po::value(&listen)->default_value(listen), "Address for /metrics, /healthz and /readyz (host:port or :port).")
    ("grpc-listen", po::value(&grpcOpts.listen)->default_value(grpcOpts.listen),
     "Address for the gRPC feed (queuestats.v1.QueueStats) and KEDA's external scaler; empty: off.")
    ("grpc-tls-cert-file", po::value(&grpcOpts.certFile), "Serve gRPC over TLS with this certificate (PEM).")
    ("grpc-tls-private-key-file", po::value(&grpcOpts.keyFile), "Private key for --grpc-tls-cert-file.")
    ("grpc-client-ca-file", po::value(&grpcOpts.clientCaFile),
     "Require gRPC clients to present a certificate signed by this CA (needs --grpc-tls-cert-file).")
    ("v", po::value(&verbosity)->default_value(0), "Log verbosity (1: per-cycle details, 2: librdkafka's info logs).")
    ("log-format", po::value(&logFormat)->default_value(logFormat), "text or json.");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(argc, argv)
            .options(desc)
            .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
            .run(),
        vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "error: " << e.what() << "\nRun queue-stats --help for the flags.\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "queue-stats " << kVersion << "\n";
    return 0;
  }
  if (config.empty()) {
    std::cerr << "error: --config is required\n";
    return 2;
  }
  if (vm.count("check-config")) {
    try {
      queue_stats::loadConfigFile(config);
      std::cout << config << ": ok\n";
      return 0;
    } catch (const queue_stats::ConfigError& e) {
      for (const auto& p : e.problems()) std::cerr << p << "\n";
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
    }
    return 1;
  }
  if (logFormat != "text" && logFormat != "json") {
    std::cerr << "error: --log-format must be text or json\n";
    return 2;
  }
  if (grpcOpts.certFile.empty() != grpcOpts.keyFile.empty()) {
    std::cerr << "error: --grpc-tls-cert-file and --grpc-tls-private-key-file go together\n";
    return 2;
  }
  if (!grpcOpts.clientCaFile.empty() && grpcOpts.certFile.empty()) {
    std::cerr << "error: --grpc-client-ca-file needs --grpc-tls-cert-file\n";
    return 2;
  }
  common::Logger log(
      std::cerr, verbosity,
      logFormat == "json" ? common::Logger::Format::Json : common::Logger::Format::Text);
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  queue_stats::AppSeams seams;
  seams.kafka =
      [&log, verbosity](
          const queue_stats::KafkaClusterConfig& c) -> std::unique_ptr<queue_stats::KafkaClient> {
    return queue_stats::makeRdKafkaClient(c, [&log, verbosity, cluster = c.name](
                                                 int level, const std::string& fac,
                                                 const std::string& msg) {
      // syslog levels: 0-3 errors, 4 warnings, 5-7 notices and debug.
      if (level <= 4 || verbosity >= 2)
        log.v(level <= 4 ? 0 : 2, "librdkafka: " + msg, {{"cluster", cluster}, {"facility", fac}});
    });
  };
  seams.http = [](const std::string& ca) -> std::unique_ptr<queue_stats::HttpTransport> {
    return std::make_unique<queue_stats::CurlTransport>(ca);
  };
  seams.nowMs = nowMs;
  queue_stats::App app(log, seams);
  try {
    app.configure(queue_stats::loadConfigFile(config));
  } catch (const queue_stats::ConfigError& e) {
    for (const auto& p : e.problems()) log.error("invalid config", {{"problem", p}});
    return 1;
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }
  std::unique_ptr<queue_stats::HttpServer> http;
  try {
    http = std::make_unique<queue_stats::HttpServer>(listen, [&](const std::string& method,
                                                                 const std::string& path) {
      queue_stats::HttpAnswer a;
      if (method != "GET" && method != "HEAD")
        return queue_stats::HttpAnswer{405, a.contentType, "method not allowed\n"};
      if (path == "/healthz" || path == "/livez")
        return queue_stats::HttpAnswer{200, a.contentType, "ok\n"};
      if (path == "/readyz")
        return app.ready()
                   ? queue_stats::HttpAnswer{200, a.contentType, "ok\n"}
                   : queue_stats::HttpAnswer{503, a.contentType,
                                             "not ready: the first collection has not finished\n"};
      if (path == "/metrics") {
        queue_stats::HttpAnswer m{200, "text/plain; version=0.0.4; charset=utf-8",
                                  queue_stats::renderMetrics(app.store(), app.metrics())};
        return m;
      }
      return queue_stats::HttpAnswer{404, a.contentType, "not found\n"};
    });
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }
  std::unique_ptr<queue_stats::GrpcServer> grpc;
  if (!grpcOpts.listen.empty()) {
    queue_stats::ScalerContext ctx;
    ctx.clusterServers = [&app] { return app.kafkaClusters(); };
    // A value older than three missed cycles is not current any more.
    ctx.maxAgeMs = [&app] { return 3 * app.intervalMs() + 10000; };
    ctx.nowMs = nowMs;
    try {
      grpc = std::make_unique<queue_stats::GrpcServer>(grpcOpts, app.store(), std::move(ctx));
    } catch (const std::exception& e) {
      log.error(e.what());
      return 1;
    }
    log.info("serving gRPC",
             {{"address", grpcOpts.listen.substr(0, grpcOpts.listen.rfind(':')) + ":" +
                              std::to_string(grpc->port())},
              {"tls", grpcOpts.certFile.empty() ? "false" : "true"},
              {"clientCertificates", grpcOpts.clientCaFile.empty() ? "false" : "true"}});
  }
  log.info("serving metrics",
           {{"address", listen.substr(0, listen.rfind(':')) + ":" + std::to_string(http->port())},
            {"config", config}});
  while (true) {
    auto cycleStart = std::chrono::steady_clock::now();
    app.runCycle();
    auto next = cycleStart + std::chrono::milliseconds(app.intervalMs());
    bool stop = false;
    while (!stop) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          next - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timespec wait{static_cast<time_t>(left.count() / 1000),
                    static_cast<long>((left.count() % 1000) * 1000000)};
      int sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig == SIGTERM || sig == SIGINT) stop = true;
      if (sig == SIGHUP) {
        try {
          app.configure(queue_stats::loadConfigFile(config));
          log.info("reloaded config", {{"config", config}});
        } catch (const queue_stats::ConfigError& e) {
          for (const auto& p : e.problems())
            log.error("config reload rejected; keeping the previous config", {{"problem", p}});
        } catch (const std::exception& e) {
          log.error("config reload rejected; keeping the previous config", {{"error", e.what()}});
        }
      }
    }
    if (stop) break;
  }
  if (grpc) grpc->shutdown();
  log.info("stopped");
  curl_global_cleanup();
  return 0;
}
