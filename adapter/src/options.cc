#include "adapter/options.h"

#include <boost/program_options.hpp>
#include <sstream>
#include <stdexcept>

#include "rules/config.h"

namespace adapter {

namespace po = boost::program_options;

std::chrono::milliseconds parseDurationFlag(const std::string& flag, const std::string& value) {
  auto ms = rules::parseDurationMillis(value);
  if (!ms || *ms <= 0) {
    throw std::invalid_argument("--" + flag + "=" + value +
                                ": expected a duration such as 30s, 10m or 1h30m");
  }
  return std::chrono::milliseconds(*ms);
}

ParsedOptions parseAdapterOptions(const std::vector<std::string>& args) {
  ParsedOptions out;
  AdapterOptions& o = out.options;
  std::string relistInterval = "10m", maxAge, timeout = "10s", grace = "10s", logFormat = "text",
              bindAddress;
  std::vector<std::string> headers;
  int port = 6443;
  po::options_description desc(
      "metrics-adapter: Kubernetes custom and external metrics from Prometheus.\n\nFlags");
  // clang-format off
  desc.add_options()
    ("help,h", "Print this help.")
    ("config", po::value(&o.configFile), "Rules config file (prometheus-adapter format). Reloaded on SIGHUP and when it changes.")
    ("standalone", po::bool_switch(&o.standalone), "Run without a Kubernetes connection: no authentication, built-in resource table, binds to 127.0.0.1 unless --bind-address is set.")
    ("prometheus-url", po::value(&o.prometheus.url)->default_value("http://localhost:9090"), "Prometheus-compatible API base URL, with an optional path prefix.")
    ("prometheus-verb", po::value(&o.prometheus.verb)->default_value("GET"), "HTTP method for queries: GET (switches to POST above 8 KB) or POST.")
    ("prometheus-timeout", po::value(&timeout)->default_value("10s"), "Timeout of one Prometheus API call.")
    ("prometheus-token-file", po::value(&o.prometheus.tokenFile), "File with a bearer token for Prometheus; re-read when it changes.")
    ("prometheus-basic-auth-username", po::value(&o.prometheus.basicAuthUsername), "Basic auth user for Prometheus.")
    ("prometheus-basic-auth-password-file", po::value(&o.prometheus.basicAuthPasswordFile), "File with the basic auth password.")
    ("prometheus-ca-file", po::value(&o.prometheus.tls.caFile), "CA bundle to verify Prometheus' certificate.")
    ("prometheus-client-cert", po::value(&o.prometheus.tls.certFile), "Client certificate for Prometheus (mTLS).")
    ("prometheus-client-key", po::value(&o.prometheus.tls.keyFile), "Client key for Prometheus (mTLS).")
    ("prometheus-header", po::value(&headers)->composing(), "Extra header Key=Value on every Prometheus request (repeatable), e.g. X-Scope-OrgID=tenant.")
    ("metrics-relist-interval", po::value(&relistInterval)->default_value("10m"), "How often to rediscover available metrics (one /api/v1/series call per distinct seriesQuery).")
    ("metrics-max-age", po::value(&maxAge), "How far back discovery looks for series; defaults to --metrics-relist-interval.")
    ("secure-port", po::value(&port)->default_value(6443), "HTTPS port (0 picks a free one).")
    ("bind-address", po::value(&bindAddress), "Address to listen on (default 0.0.0.0; 127.0.0.1 with --standalone).")
    ("tls-cert-file", po::value(&o.tlsCertFile), "Serving certificate (PEM); reloaded when it changes.")
    ("tls-private-key-file", po::value(&o.tlsPrivateKeyFile), "Serving private key (PEM).")
    ("cert-dir", po::value(&o.certDir)->default_value(o.certDir), "Where a self-signed certificate is written when --tls-cert-file is not set.")
    ("server-threads", po::value(&o.server.threads)->default_value(16), "Threads serving connections; each connection stays on one thread (they wait on Prometheus, so more than cores).")
    ("shutdown-grace-period", po::value(&grace)->default_value("10s"), "On SIGTERM, how long in-flight requests may take to finish.")
    ("v", po::value(&o.verbosity)->default_value(0), "Log verbosity (klog levels: 1 discovery, 2 dropped samples, 4 queries).")
    ("log-format", po::value(&logFormat)->default_value("text"), "Log format: text or json.");
  // clang-format on
  std::ostringstream help;
  help << desc;
  out.helpText = help.str();
  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(args)
            .options(desc)
            .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
            .run(),
        vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(e.what());
  }
  if (vm.count("help")) {
    out.helpRequested = true;
    return out;
  }
  if (o.configFile.empty()) throw std::invalid_argument("--config is required");
  if (port < 0 || port > 65535) throw std::invalid_argument("--secure-port must be 0-65535");
  o.server.port = static_cast<uint16_t>(port);
  o.bindAddressSet = vm.count("bind-address") > 0;
  o.server.bindAddress = o.bindAddressSet ? bindAddress : (o.standalone ? "127.0.0.1" : "0.0.0.0");
  o.prometheus.timeout = parseDurationFlag("prometheus-timeout", timeout);
  o.relist.interval = parseDurationFlag("metrics-relist-interval", relistInterval);
  o.relist.maxAge =
      maxAge.empty() ? o.relist.interval : parseDurationFlag("metrics-max-age", maxAge);
  o.shutdownGracePeriod = parseDurationFlag("shutdown-grace-period", grace);
  if (o.prometheus.verb != "GET" && o.prometheus.verb != "POST") {
    throw std::invalid_argument("--prometheus-verb must be GET or POST");
  }
  for (const auto& h : headers) {
    auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::invalid_argument("--prometheus-header=" + h + ": expected Key=Value");
    }
    o.prometheus.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
  }
  if (logFormat == "json")
    o.logFormat = apiservice::Logger::Format::Json;
  else if (logFormat != "text")
    throw std::invalid_argument("--log-format must be text or json");
  if (o.tlsCertFile.empty() != o.tlsPrivateKeyFile.empty()) {
    throw std::invalid_argument("--tls-cert-file and --tls-private-key-file go together");
  }
  if (o.server.threads < 1) throw std::invalid_argument("--server-threads must be at least 1");
  return out;
}

}  // namespace adapter
