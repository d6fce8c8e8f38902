// queue-stats: Kafka consumer lag and SQS queue depth, exported for
// scaling. Each source is collected on its own schedule; the config is
// reloaded on SIGHUP and when its file changes; SIGTERM ends it within a
// second whatever the collectors are doing.
#include <curl/curl.h>
#include <signal.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "common/file_stamp.h"
#include "queue_stats/app.h"
#include "queue_stats/grpc_services.h"
#include "queue_stats/http_server.h"

namespace {

constexpr const char* kVersion = "v0.1.0";
// How often the config file is checked for a change (as the adapter does).
constexpr std::chrono::milliseconds kConfigCheck{2000};
// SIGTERM to exit: what the servers and collectors get to finish.
constexpr std::chrono::milliseconds kStopGrace{600};

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Flags {
  std::string config, listen = ":9308", logFormat = "text";
  queue_stats::GrpcOptions grpc;
  int verbosity = 0;
  bool checkOnly = false;
};

// Parses and checks the flags; an exit code when the process should end.
std::optional<int> parseFlags(int argc, char** argv, Flags& f) {
  namespace po = boost::program_options;
  f.grpc.listen = ":9309";
  po::options_description desc(
      "queue-stats: Kafka consumer lag and SQS queue depth for autoscaling.\n\nFlags");
  // clang-format off
  desc.add_options()
    ("help,h", "Print this help.")
    ("version", "Print the version.")
    ("config", po::value(&f.config), "Config file (YAML); reloaded on SIGHUP and when the file changes (checked every 2s); a broken one keeps the old.")
    ("check-config", "Validate --config, print what is wrong (file:line:column) and exit: 0 valid, 1 not.")
    ("listen", po::value(&f.listen)->default_value(f.listen), "Address for /metrics, /healthz and /readyz (host:port or :port).")
    ("grpc-listen", po::value(&f.grpc.listen)->default_value(f.grpc.listen),
     "Address for the gRPC feed (queuestats.v1.QueueStats) and KEDA's external scaler; empty: off.")
    ("grpc-tls-cert-file", po::value(&f.grpc.certFile), "Serve gRPC over TLS with this certificate (PEM); reloaded when it changes.")
    ("grpc-tls-private-key-file", po::value(&f.grpc.keyFile), "Private key for --grpc-tls-cert-file.")
    ("grpc-client-ca-file", po::value(&f.grpc.clientCaFile),
     "Require gRPC clients to present a certificate signed by this CA (needs --grpc-tls-cert-file); reloaded when it changes.")
    ("grpc-max-streams", po::value(&f.grpc.maxStreams)->default_value(f.grpc.maxStreams),
     "Concurrent gRPC streams (Watch, StreamIsActive) at most; more are refused with RESOURCE_EXHAUSTED.")
    ("v", po::value(&f.verbosity)->default_value(0), "Log verbosity (1: per-cycle details, 2: librdkafka's info logs).")
    ("log-format", po::value(&f.logFormat)->default_value(f.logFormat), "text or json.");
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
  f.checkOnly = vm.count("check-config") > 0;
  auto bad = [](const char* msg) {
    std::cerr << "error: " << msg << "\n";
    return 2;
  };
  if (f.config.empty()) return bad("--config is required");
  if (f.logFormat != "text" && f.logFormat != "json")
    return bad("--log-format must be text or json");
  if (f.grpc.certFile.empty() != f.grpc.keyFile.empty())
    return bad("--grpc-tls-cert-file and --grpc-tls-private-key-file go together");
  if (!f.grpc.clientCaFile.empty() && f.grpc.certFile.empty())
    return bad("--grpc-client-ca-file needs --grpc-tls-cert-file");
  if (f.grpc.maxStreams < 1) return bad("--grpc-max-streams must be at least 1");
  return std::nullopt;
}

int checkConfig(const std::string& config) {
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

queue_stats::AppSeams makeSeams(common::Logger& log, int verbosity) {
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
  return seams;
}

// Applies the config file; a broken one keeps what runs, with each problem
// (file:line:column) in the log. False when it was not applied.
bool applyConfig(queue_stats::App& app, const std::string& config, common::Logger& log,
                 const char* what) {
  try {
    app.configure(queue_stats::loadConfigFile(config));
    return true;
  } catch (const queue_stats::ConfigError& e) {
    for (const auto& p : e.problems()) log.error(what, {{"problem", p}});
  } catch (const std::exception& e) {
    log.error(what, {{"error", e.what()}});
  }
  return false;
}

queue_stats::HttpServer::Handler httpHandler(queue_stats::App& app) {
  return [&app](const std::string& method, const std::string& path) {
    using queue_stats::HttpAnswer;
    const std::string text = HttpAnswer{}.contentType;
    if (method != "GET" && method != "HEAD") return HttpAnswer{405, text, "method not allowed\n"};
    if (path == "/healthz" || path == "/livez") return HttpAnswer{200, text, "ok\n"};
    if (path == "/readyz")
      return app.ready()
                 ? HttpAnswer{200, text, "ok\n"}
                 : HttpAnswer{503, text, "not ready: a first collection has not finished\n"};
    if (path == "/metrics")
      return HttpAnswer{200, "text/plain; version=0.0.4; charset=utf-8",
                        queue_stats::renderMetrics(app.store(), app.metrics())};
    return HttpAnswer{404, text, "not found\n"};
  };
}

std::string shownAddress(const std::string& listen, int port) {
  return listen.substr(0, listen.rfind(':')) + ":" + std::to_string(port);
}

// Waits for signals, and checks the config file every kConfigCheck;
// returns on SIGTERM or SIGINT.
void serveUntilStopped(queue_stats::App& app, const std::string& config, common::Logger& log,
                       const sigset_t& signals) {
  std::string stamp = common::fileStamp(config);
  auto nextCheck = std::chrono::steady_clock::now() + kConfigCheck;
  while (true) {
    auto left = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                         nextCheck - std::chrono::steady_clock::now())
                                         .count());
    timespec wait{static_cast<time_t>(left / 1000), static_cast<long>((left % 1000) * 1000000)};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) return;
    bool changed = false;
    if (std::chrono::steady_clock::now() >= nextCheck) {
      nextCheck = std::chrono::steady_clock::now() + kConfigCheck;
      std::string now = common::fileStamp(config);
      changed = now != stamp && !now.empty();
      if (changed) stamp = now;
    }
    if (sig != SIGHUP && !changed) continue;
    if (applyConfig(app, config, log, "config reload rejected; keeping the previous config"))
      log.info("reloaded config",
               {{"config", config}, {"trigger", sig == SIGHUP ? "SIGHUP" : "file changed"}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (auto code = parseFlags(argc, argv, f)) return *code;
  if (f.checkOnly) return checkConfig(f.config);
  common::Logger log(
      std::cerr, f.verbosity,
      f.logFormat == "json" ? common::Logger::Format::Json : common::Logger::Format::Text);
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto app = std::make_unique<queue_stats::App>(log, makeSeams(log, f.verbosity));
  if (!applyConfig(*app, f.config, log, "invalid config")) return 1;
  std::unique_ptr<queue_stats::HttpServer> http;
  std::unique_ptr<queue_stats::GrpcServer> grpc;
  try {
    http = std::make_unique<queue_stats::HttpServer>(f.listen, httpHandler(*app));
    if (!f.grpc.listen.empty()) {
      grpc = std::make_unique<queue_stats::GrpcServer>(f.grpc, app->store(), nowMs);
      log.info("serving gRPC",
               {{"address", shownAddress(f.grpc.listen, grpc->port())},
                {"tls", f.grpc.certFile.empty() ? "false" : "true"},
                {"clientCertificates", f.grpc.clientCaFile.empty() ? "false" : "true"},
                {"maxStreams", std::to_string(f.grpc.maxStreams)}});
    }
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }
  log.info("serving metrics",
           {{"address", shownAddress(f.listen, http->port())}, {"config", f.config}});
  serveUntilStopped(*app, f.config, log, signals);
  auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  if (grpc) grpc->shutdown();  // open streams end with a status
  http.reset();
  if (!app->stop(deadline)) {
    // A collector is inside a request to a broker or AWS: nothing it holds
    // needs saving, so it is not waited for.
    log.info("stopped (a collection in progress was abandoned)");
    std::cerr.flush();
    std::_Exit(0);
  }
  app.reset();
  log.info("stopped");
  curl_global_cleanup();
  return 0;
}
