// metrics-adapter: wires the pieces together and runs until SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include "adapter/app/config_reloader.h"
#include "adapter/app/options.h"
#include "adapter/app/rules_cli.h"
#include "adapter/app/self_metrics.h"
#include "adapter/feed/feed_module_loader.h"
#include "adapter/kube/builtin_resources.h"
#include "adapter/kube/cluster_connection.h"
#include "adapter/prometheus/relister.h"
#include "adapter/prometheus/serving_state.h"
#include "adapter/providers/custom_rules_provider.h"
#include "adapter/providers/external_chain.h"
#include "adapter/providers/external_rules_provider.h"
#include "adapter/providers/queue_feed_source.h"
#include "adapter/providers/resource_metrics_provider.h"
#include "adapter/upstream/upstreams.h"
#include "apiservice/https_server.h"
#include "apiservice/router.h"
#include "apiservice/tls_credentials.h"
#include "common/clock.h"

namespace {

constexpr const char* kVersion = "v0.1.0";

// The serving certificate: the flags' files, or a self-signed one in
// --cert-dir (as prometheus-adapter).
std::shared_ptr<apiservice::TlsCredentials> servingCredentials(const adapter::AdapterOptions& o,
                                                               common::Logger& log) {
  std::string cert = o.tlsCertFile, key = o.tlsPrivateKeyFile;
  if (cert.empty()) {
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    std::tie(cert, key) = apiservice::TlsCredentials::ensureSelfSigned(
        o.certDir, {"localhost", "127.0.0.1", "::1", host, "metrics-adapter"});
    log.info("serving with a self-signed certificate", {{"cert", cert}});
  }
  return std::make_shared<apiservice::TlsCredentials>(cert, key, log,
                                                      /*requestClientCertificates=*/!o.standalone);
}

// What the adapter connects to before it serves; any failure stops startup.
struct Connections {
  std::unique_ptr<adapter::FeedSource> feed;
  std::unique_ptr<adapter::HttpPrometheusClient> backend;
  std::unique_ptr<adapter::ClusterConnection> cluster;
  std::shared_ptr<apiservice::TlsCredentials> tls;
};

Connections connect(const adapter::AdapterOptions& o, const common::Clock& clock,
                    common::Logger& log) {
  Connections c;
  if (!o.queueStats.address.empty()) c.feed = adapter::loadQueueStatsFeed(o.queueStats, log);
  c.backend = std::make_unique<adapter::HttpPrometheusClient>(o.prometheus);
  if (!o.standalone)
    c.cluster = std::make_unique<adapter::ClusterConnection>(o.kubernetes, clock, log);
  c.tls = servingCredentials(o, log);
  return c;
}

// Object caches, reviews and the feed, read at each scrape of /metrics.
void collectFromConnections(adapter::SelfMetrics& metrics, const Connections& c) {
  metrics.onCollect([&c](adapter::SelfMetrics& m) {
    if (c.cluster) {
      for (const auto& [resource, n] : c.cluster->objects().cachedObjectsByResource())
        m.setCachedObjects(resource, n);
      m.setReviewsSent(c.cluster->authenticator().reviewsSent(),
                       c.cluster->authorizer().reviewsSent());
    }
    if (c.feed) {
      auto data = c.feed->current();
      m.setQueueStatsFeed(c.feed->status(), data ? data->receivedAtMs / 1000.0 : 0);
    }
  });
}

apiservice::AccessControl accessControl(const adapter::AdapterOptions& o, const Connections& c) {
  apiservice::AccessControl access;
  if (c.cluster) {
    access.authenticator = &c.cluster->authenticator();
    access.authorizer = &c.cluster->authorizer();
    access.alwaysAllowPaths = o.kubernetes.alwaysAllowPaths;
  }
  return access;
}

// The servers we forward unserved metrics to; null without any. A name
// we serve ourselves shadows an upstream's.
std::unique_ptr<adapter::Upstreams> makeUpstreams(
    const adapter::AdapterOptions& o, const apiservice::CustomMetricsProvider& custom,
    const apiservice::ExternalMetricsProvider& external, adapter::SelfMetrics& metrics,
    common::Logger& log) {
  if (o.upstreams.upstreams.empty()) return nullptr;
  auto servedHere = [&custom, &external](apiservice::MetricsApi api, const std::string& name) {
    if (api == apiservice::MetricsApi::External) return external.servesExternalMetric(name);
    auto slash = name.find('/');
    return slash != std::string::npos &&
           custom.servesCustomMetric(name.substr(0, slash), name.substr(slash + 1));
  };
  auto observe = [&metrics](const std::string& upstream, const std::string& code, double secs) {
    metrics.observeUpstream(upstream, code, secs);
  };
  for (const auto& u : o.upstreams.upstreams) {
    log.info("forwarding metrics we do not serve",
             {{"api", adapter::apiName(u.api)},
              {"upstream", u.url},
              {"token", u.tokenFile.empty() ? "none" : u.tokenFile}});
  }
  return std::make_unique<adapter::Upstreams>(o.upstreams, servedHere, observe, log);
}

// Config, certificate and CA files are checked for changes every 2
// seconds, and the rules recompiled when discovery finds new resources.
// Returns on SIGTERM or SIGINT.
void runUntilStopped(const adapter::AdapterOptions& o, const sigset_t& signals,
                     adapter::ConfigReloader& reloader, Connections& c, common::Logger& log) {
  uint64_t discoveryGeneration = c.cluster ? c.cluster->mapper()->generation() : 0;
  while (true) {
    timespec wait{2, 0};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      log.info("shutting down: draining in-flight requests",
               {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                {"gracePeriod", std::to_string(o.shutdownGracePeriod.count()) + "ms"}});
      return;
    }
    reloader.reload(/*force=*/sig == SIGHUP);
    c.tls->reloadIfChanged();
    if (c.cluster) {
      c.cluster->tick();
      if (uint64_t g = c.cluster->mapper()->generation(); g != discoveryGeneration) {
        discoveryGeneration = g;
        reloader.recompile();
      }
    }
  }
}

int serve(const adapter::AdapterOptions& o) {
  common::Logger log(std::cerr, o.verbosity, o.logFormat);
  // Signals are handled by the main thread only; block them before any
  // thread starts so they all inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  common::SystemClock clock;
  adapter::SelfMetrics metrics;
  adapter::ServingState state;
  Connections c;
  try {
    c = connect(o, clock, log);
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }
  if (c.cluster) c.cluster->start();
  std::shared_ptr<const rules::ResourceMapper> mapper =
      c.cluster ? std::shared_ptr<const rules::ResourceMapper>(c.cluster->mapper())
                : adapter::builtinResources();
  adapter::InstrumentedPrometheusApi backend(*c.backend, metrics);
  metrics.setRelistInterval(o.relist.interval);
  adapter::Relister relister(
      backend, state, clock, [&](const adapter::RelistReport& r) { metrics.observeRelist(r); }, log,
      o.relist);
  adapter::ConfigReloader reloader(o.configFile, mapper, relister, metrics, log);
  try {
    reloader.loadInitial();
  } catch (const rules::ConfigError& e) {
    for (const auto& d : e.diagnostics()) log.error("invalid config", {{"problem", d.str()}});
    return 1;
  }

  adapter::ObjectLister* objects = c.cluster ? &c.cluster->objects() : nullptr;
  adapter::CustomRulesProvider custom(state, backend, clock, log, objects);
  adapter::ExternalRulesProvider externalRules(state, backend, clock, log);
  std::unique_ptr<adapter::QueueFeedSource> feedSource;
  std::vector<const adapter::ExternalMetricsSource*> externalSources;
  if (c.feed) {
    feedSource = std::make_unique<adapter::QueueFeedSource>(*c.feed, o.queueStats.address,
                                                            o.queueStats.maxAge, clock);
    externalSources.push_back(feedSource.get());
  }
  externalSources.push_back(&externalRules);
  adapter::ExternalMetricsChain external(externalSources);
  adapter::PrometheusResourceMetrics resourceMetrics(state, backend, clock, log, objects);

  std::unique_ptr<adapter::Upstreams> upstreams;
  try {
    upstreams = makeUpstreams(o, custom, external, metrics, log);
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }

  collectFromConnections(metrics, c);
  apiservice::RouterHooks hooks{[&] { return state.ready(); }, [&] { return metrics.text(); },
                                [&](const std::string& route, int code, double secs) {
                                  metrics.observeRequest(route, code, secs);
                                }};
  apiservice::Router router(
      {&custom, &external, &resourceMetrics, upstreams ? &upstreams->forwarder() : nullptr}, hooks,
      kVersion, accessControl(o, c), clock, &log);
  apiservice::HttpsServer server(
      o.server, c.tls,
      [&](const apiservice::HttpRequest& r, const common::RequestContext& ctx) {
        return router.handle(r, ctx);
      },
      log);
  try {
    server.start();
  } catch (const std::exception& e) {
    log.error(e.what());
    return 1;
  }
  relister.start();
  if (upstreams) upstreams->catalog().start();
  log.info("serving custom.metrics.k8s.io, external.metrics.k8s.io and metrics.k8s.io",
           {{"address", o.server.bindAddress + ":" + std::to_string(server.port())},
            {"prometheus", o.prometheus.url},
            {"standalone", o.standalone ? "true" : "false"},
            {"queueStats", o.queueStats.address}});
  runUntilStopped(o, signals, reloader, c, log);
  server.shutdown(o.shutdownGracePeriod);
  relister.stop();
  if (upstreams) upstreams->catalog().stop();
  c.feed.reset();
  c.cluster.reset();
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
