// metrics-adapter: wires the pieces together and runs until SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include "adapter/builtin_resources.h"
#include "adapter/clock.h"
#include "adapter/cluster_connection.h"
#include "adapter/config_reloader.h"
#include "adapter/feed_source.h"
#include "adapter/options.h"
#include "adapter/prometheus_provider.h"
#include "adapter/queue_feed_provider.h"
#include "adapter/relister.h"
#include "adapter/resource_metrics_provider.h"
#include "adapter/rules_cli.h"
#include "adapter/self_metrics.h"
#include "adapter/serving_state.h"
#include "apiservice/https_server.h"
#include "apiservice/router.h"
#include "apiservice/tls_credentials.h"

namespace {

constexpr const char* kVersion = "v0.1.0";

int serve(const adapter::AdapterOptions& o) {
  apiservice::Logger log(std::cerr, o.verbosity, o.logFormat);
  // Signals are handled by the main thread only; block them before any
  // thread starts so they all inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  adapter::SystemClock clock;
  adapter::SelfMetrics metrics;
  adapter::ServingState state;
  std::unique_ptr<adapter::HttpPrometheusClient> backend;
  std::shared_ptr<apiservice::TlsCredentials> tls;
  std::unique_ptr<adapter::ClusterConnection> cluster;
  std::unique_ptr<adapter::FeedSource> feed;
  try {
    if (!o.queueStats.address.empty()) feed = adapter::loadQueueStatsFeed(o.queueStats, log);
    backend = std::make_unique<adapter::HttpPrometheusClient>(o.prometheus);
    if (!o.standalone)
      cluster = std::make_unique<adapter::ClusterConnection>(o.kubernetes, clock, log);
    std::string cert = o.tlsCertFile, key = o.tlsPrivateKeyFile;
    if (cert.empty()) {
      char host[256] = "localhost";
      gethostname(host, sizeof host - 1);
      std::tie(cert, key) = apiservice::TlsCredentials::ensureSelfSigned(
          o.certDir, {"localhost", "127.0.0.1", "::1", host, "metrics-adapter"});
      log.info("serving with a self-signed certificate", {{"cert", cert}});
    }
    tls = std::make_shared<apiservice::TlsCredentials>(cert, key, log,
                                                       /*requestClientCertificates=*/!o.standalone);
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }
  if (cluster) cluster->start();
  std::shared_ptr<const rules::ResourceMapper> mapper =
      cluster ? std::shared_ptr<const rules::ResourceMapper>(cluster->mapper())
              : adapter::builtinResources();
  adapter::InstrumentedPrometheusApi instrumented(*backend, metrics);
  adapter::Relister relister(instrumented, state, clock, metrics, log, o.relist);
  adapter::ConfigReloader reloader(o.configFile, mapper, relister, metrics, log);
  try {
    reloader.loadInitial();
  } catch (const rules::ConfigError& e) {
    for (const auto& d : e.diagnostics()) log.error("invalid config", {{"problem", d.str()}});
    return 1;
  }
  adapter::ObjectLister* objects = cluster ? &cluster->objects() : nullptr;
  adapter::PrometheusProvider provider(state, instrumented, clock, log, objects);
  std::unique_ptr<adapter::QueueFeedProvider> feedProvider;
  if (feed)
    feedProvider = std::make_unique<adapter::QueueFeedProvider>(
        provider, *feed, o.queueStats.address, o.queueStats.maxAge, clock);
  const apiservice::MetricsProvider& metricsProvider =
      feedProvider ? static_cast<const apiservice::MetricsProvider&>(*feedProvider) : provider;
  adapter::PrometheusResourceMetrics resourceMetrics(state, instrumented, clock, log, objects);
  apiservice::RouterHooks hooks{[&] { return state.ready(); }, [&] { return metrics.text(); },
                                [&](const std::string& route, int code, double secs) {
                                  metrics.observeRequest(route, code, secs);
                                }};
  apiservice::AccessControl access;
  metrics.onCollect([&cluster, &feed](adapter::SelfMetrics& m) {
    if (cluster) {
      for (const auto& [resource, n] : cluster->objects().cachedObjectsByResource())
        m.setCachedObjects(resource, n);
      m.setReviewsSent(cluster->authenticator().reviewsSent(), cluster->authorizer().reviewsSent());
    }
    if (feed) {
      auto data = feed->current();
      m.setQueueStatsFeed(feed->status(), data ? data->receivedAtMs / 1000.0 : 0);
    }
  });
  if (cluster) {
    access.authenticator = &cluster->authenticator();
    access.authorizer = &cluster->authorizer();
    access.alwaysAllowPaths = o.kubernetes.alwaysAllowPaths;
  }
  apiservice::Router router({&metricsProvider, &resourceMetrics}, hooks, kVersion, access, clock,
                            &log);
  apiservice::HttpsServer server(
      o.server, tls, [&](const apiservice::HttpRequest& r) { return router.handle(r); }, log);
  try {
    server.start();
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }
  relister.start();
  log.info("serving custom.metrics.k8s.io, external.metrics.k8s.io and metrics.k8s.io",
           {{"address", o.server.bindAddress + ":" + std::to_string(server.port())},
            {"prometheus", o.prometheus.url},
            {"standalone", o.standalone ? "true" : "false"},
            {"queueStats", o.queueStats.address}});

  // Config, certificate and CA files are checked for changes every 2
  // seconds, and the rules recompiled when discovery finds new resources.
  uint64_t discoveryGeneration = cluster ? cluster->mapper()->generation() : 0;
  while (true) {
    timespec wait{2, 0};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      log.info("shutting down: draining in-flight requests",
               {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                {"gracePeriod", std::to_string(o.shutdownGracePeriod.count()) + "ms"}});
      break;
    }
    reloader.reload(/*force=*/sig == SIGHUP);
    tls->reloadIfChanged();
    if (cluster) {
      cluster->tick();
      if (uint64_t g = cluster->mapper()->generation(); g != discoveryGeneration) {
        discoveryGeneration = g;
        reloader.recompile();
      }
    }
  }
  server.shutdown(o.shutdownGracePeriod);
  relister.stop();
  feed.reset();
  cluster.reset();
  log.info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "rules") {
    return adapter::runRulesCommand(std::vector<std::string>(args.begin() + 1, args.end()),
                                    std::cout, std::cerr);
  }
  if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
    std::cout << "metrics-adapter " << kVersion << "\n";
    return 0;
  }
  adapter::ParsedOptions parsed;
  try {
    parsed = adapter::parseAdapterOptions(args);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\nRun metrics-adapter --help for the flags.\n";
    return 2;
  }
  if (parsed.helpRequested) {
    std::cout << parsed.helpText
              << "\nSubcommands:\n  metrics-adapter rules check|explain ... (see 'metrics-adapter "
                 "rules --help')\n";
    return 0;
  }
  return serve(parsed.options);
}
