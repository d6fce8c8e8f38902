#include "adapter/app/options.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <sstream>
#include <stdexcept>

#include "adapter/upstream/upstreams_config.h"
#include "common/duration.h"
#include "rules/config.h"

namespace adapter {

namespace po = boost::program_options;

std::chrono::milliseconds parseDurationFlag(const std::string& flag, const std::string& value) {
  auto ms = common::parseDurationMillis(value);
  if (!ms || *ms <= 0) {
    throw std::invalid_argument("--" + flag + "=" + value +
                                ": expected a duration such as 30s, 10m or 1h30m");
  }
  return std::chrono::milliseconds(*ms);
}

std::pair<std::string, std::string> parseHeaderFlag(const std::string& value) {
  auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--prometheus-header=" + value + ": expected Key=Value");
  return {value.substr(0, eq), value.substr(eq + 1)};
}

std::vector<std::string> splitList(const std::string& value) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= value.size()) {
    size_t j = value.find(',', i);
    if (j == std::string::npos) j = value.size();
    std::string item = value.substr(i, j - i);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

namespace {

// Flag values that are parsed after the command line is read.
struct RawFlags {
  std::string relistInterval = "10m", maxAge, timeout = "10s", grace = "10s", logFormat = "text",
              bindAddress;
  std::vector<std::string> headers;
  int port = 6443;
  std::string discoveryInterval = "1m", tokenTtl = "10s", allowedTtl = "10s", deniedTtl = "10s",
              allowPaths = "/healthz,/readyz,/livez", allowedNames, userHeaders = "X-Remote-User",
              groupHeaders = "X-Remote-Group", extraPrefixes = "X-Remote-Extra-", uidHeaders,
              queueStatsMaxAge = "2m", requestTimeout = "60s", headerTimeout = "10s",
              maxResponse = "64Mi";
  int maxInflight = 400, prometheusMaxInflight = 100;
};

// A byte count: 1048576, 64Mi, 1Gi, 500M (Kubernetes quantity suffixes).
uint64_t parseBytesFlag(const std::string& flag, const std::string& value) {
  static const std::vector<std::pair<std::string, uint64_t>> units{{"Ki", 1ull << 10},
                                                                   {"Mi", 1ull << 20},
                                                                   {"Gi", 1ull << 30},
                                                                   {"k", 1000},
                                                                   {"M", 1000000},
                                                                   {"G", 1000000000},
                                                                   {"", 1}};
  size_t digits = 0;
  while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits]))) ++digits;
  std::string suffix = value.substr(digits);
  for (const auto& [u, mult] : units) {
    if (suffix != u || digits == 0 || digits > 12) continue;
    return std::stoull(value.substr(0, digits)) * mult;
  }
  throw std::invalid_argument("--" + flag + "=" + value +
                              ": expected a byte count such as 67108864, 64Mi or 1Gi");
}

// The adapter's own flags: config, Prometheus, queue-stats, serving, logs.
void describeAdapterFlags(po::options_description& desc, AdapterOptions& o, RawFlags& f) {
  // clang-format off
  desc.add_options()
    ("help,h", "Print this help.")
    ("config", po::value(&o.configFile), "Rules config file (prometheus-adapter format). Reloaded on SIGHUP and when it changes.")
    ("standalone", po::bool_switch(&o.standalone), "Run without a Kubernetes connection: no authentication, built-in resource table, binds to 127.0.0.1 unless --bind-address is set.")
    ("prometheus-url", po::value(&o.prometheus.url)->default_value("http://localhost:9090"), "Prometheus-compatible API base URL, with an optional path prefix.")
    ("prometheus-verb", po::value(&o.prometheus.verb)->default_value("GET"), "HTTP method for queries: GET (switches to POST above 8 KB) or POST.")
    ("prometheus-timeout", po::value(&f.timeout)->default_value("10s"), "Timeout of one Prometheus API call.")
    ("prometheus-max-inflight", po::value(&f.prometheusMaxInflight)->default_value(f.prometheusMaxInflight), "Queries sent to Prometheus at once; others wait within their request's deadline, then 503. 0: no limit.")
    ("prometheus-max-response-bytes", po::value(&f.maxResponse)->default_value(f.maxResponse), "Largest Prometheus query answer accepted (e.g. 64Mi); a larger one is refused with a 500. 0: no limit.")
    ("prometheus-token-file", po::value(&o.prometheus.tokenFile), "File with a bearer token for Prometheus; re-read when it changes.")
    ("prometheus-basic-auth-username", po::value(&o.prometheus.basicAuthUsername), "Basic auth user for Prometheus.")
    ("prometheus-basic-auth-password-file", po::value(&o.prometheus.basicAuthPasswordFile), "File with the basic auth password.")
    ("prometheus-ca-file", po::value(&o.prometheus.tls.caFile), "CA bundle to verify Prometheus' certificate.")
    ("prometheus-client-cert", po::value(&o.prometheus.tls.certFile), "Client certificate for Prometheus (mTLS).")
    ("prometheus-client-key", po::value(&o.prometheus.tls.keyFile), "Client key for Prometheus (mTLS).")
    ("prometheus-header", po::value(&f.headers)->composing(), "Extra header Key=Value on every Prometheus request (repeatable), e.g. X-Scope-OrgID=tenant.")
    ("metrics-relist-interval", po::value(&f.relistInterval)->default_value("10m"), "How often to rediscover available metrics (one /api/v1/series call per distinct seriesQuery).")
    ("metrics-max-age", po::value(&f.maxAge), "How far back discovery looks for series; defaults to --metrics-relist-interval.")
    ("queue-stats-address", po::value(&o.queueStats.address), "queue-stats' gRPC address (host:port): serve its Kafka lag and SQS depth as external metrics straight from its feed.")
    ("queue-stats-ca-file", po::value(&o.queueStats.caFile), "CA bundle to verify queue-stats' certificate; set: the feed uses TLS. Re-read when it changes, for the next connection.")
    ("queue-stats-client-cert", po::value(&o.queueStats.certFile), "Client certificate for queue-stats (mTLS; implies TLS). Re-read with the key when either changes, for the next connection; a key that does not match is refused and the previous pair kept.")
    ("queue-stats-client-key", po::value(&o.queueStats.keyFile), "Client key for queue-stats (mTLS).")
    ("queue-stats-max-age", po::value(&f.queueStatsMaxAge)->default_value(f.queueStatsMaxAge), "Feed values measured longer ago than this are an error (503), never served as current.")
    ("secure-port", po::value(&f.port)->default_value(6443), "HTTPS port (0 picks a free one).")
    ("bind-address", po::value(&f.bindAddress), "Address to listen on (default 0.0.0.0; 127.0.0.1 with --standalone).")
    ("tls-cert-file", po::value(&o.tlsCertFile), "Serving certificate (PEM); reloaded when it changes.")
    ("tls-private-key-file", po::value(&o.tlsPrivateKeyFile), "Serving private key (PEM).")
    ("cert-dir", po::value(&o.certDir)->default_value(o.certDir), "Where a self-signed certificate is written when --tls-cert-file is not set.")
    ("server-threads", po::value(&o.server.threads)->default_value(0), "Threads serving connections (0: one per core). Requests wait on Prometheus and kube-apiserver without holding a thread.")
    ("request-timeout", po::value(&f.requestTimeout)->default_value(f.requestTimeout), "Longest a request may take, every backend and review call included; then 504.")
    ("request-header-timeout", po::value(&f.headerTimeout)->default_value(f.headerTimeout), "A client must send a request's headers within this (from its first byte), or the connection is closed.")
    ("max-requests-inflight", po::value(&f.maxInflight)->default_value(f.maxInflight), "Requests handled at once (health checks aside); beyond it 429 with Retry-After. 0: no limit.")
    ("shutdown-grace-period", po::value(&f.grace)->default_value("10s"), "On SIGTERM, how long in-flight requests may take to finish.")
    ("v", po::value(&o.verbosity)->default_value(0), "Log verbosity (klog levels: 1 discovery, 2 dropped samples, 4 queries and access decisions).")
    ("log-format", po::value(&f.logFormat)->default_value("text"), "Log format: text or json.");
  // clang-format on
}

}  // namespace

// Where metrics we do not serve are forwarded: the servers that owned the
// metrics APIs before us.
void describeUpstreamFlags(po::options_description& desc, UpstreamFlags& u) {
  // clang-format off
  desc.add_options()
    ("external-metrics-upstream", po::value(&u.external)->composing(), "https URL of a server whose external metrics we forward when we do not serve them (repeatable, tried in order), e.g. https://keda-operator-metrics-apiserver.keda.svc:443.")
    ("custom-metrics-upstream", po::value(&u.custom)->composing(), "https URL of a server whose custom metrics we forward when we do not serve them (repeatable, tried in order).")
    ("upstream-ca-file", po::value(&u.caFile), "CA bundle to verify the upstreams' certificates (default: the system's). Verification is always on.")
    ("upstream-token-file", po::value(&u.tokenFile), "Bearer token we call the upstreams with; re-read when it changes (default: the pod's service-account token, when mounted).")
    ("upstream-client-cert", po::value(&u.certFile), "Client certificate for the upstreams (mTLS).")
    ("upstream-client-key", po::value(&u.keyFile), "Client key for the upstreams.")
    ("upstream-timeout", po::value(&u.timeout)->default_value(u.timeout), "Timeout of one call to an upstream, within the request's own deadline; then 503 naming it.")
    ("upstreams-config", po::value(&u.configFile), "YAML file with one entry per upstream (url, api: external|custom, caFile, tokenFile, certFile, keyFile, timeout); replaces the flags above.")
    ("upstream-discovery-interval", po::value(&u.discoveryInterval)->default_value(u.discoveryInterval), "How often the upstreams' metric lists are refreshed (in the background).")
    ("upstream-max-inflight", po::value(&u.maxInflight)->default_value(u.maxInflight), "Calls in flight per upstream; beyond it 503. 0: no limit.")
    ("upstream-max-response-bytes", po::value(&u.maxResponse)->default_value(u.maxResponse), "Largest upstream answer accepted; a larger one is a 503 naming the flag.");
  // clang-format on
}

namespace {

// kube-apiserver's flags for clients, discovery and delegated auth.
void describeKubernetesFlags(po::options_description& desc, AdapterOptions& o, RawFlags& f) {
  // clang-format off
  desc.add_options()
    ("lister-kubeconfig", po::value(&o.kubernetes.listerKubeconfig), "kubeconfig for listing and watching objects and API discovery (default: in-cluster).")
    ("authentication-kubeconfig", po::value(&o.kubernetes.authenticationKubeconfig), "kubeconfig for TokenReviews and the extension-apiserver-authentication ConfigMap (default: in-cluster).")
    ("authorization-kubeconfig", po::value(&o.kubernetes.authorizationKubeconfig), "kubeconfig for SubjectAccessReviews (default: in-cluster).")
    ("kube-api-qps", po::value(&o.kubernetes.qps)->default_value(20), "Requests per second to kube-apiserver for listing, watching and discovery.")
    ("kube-api-burst", po::value(&o.kubernetes.burst)->default_value(40), "Burst of requests to kube-apiserver above --kube-api-qps.")
    ("discovery-interval", po::value(&f.discoveryInterval)->default_value("1m"), "How often API discovery is refreshed (new CRDs resolve without a restart).")
    ("client-ca-file", po::value(&o.kubernetes.authentication.clientCAFile), "CA bundle for client certificates (user = CN, groups = O); default: client-ca-file of the extension-apiserver-authentication ConfigMap.")
    ("requestheader-client-ca-file", po::value(&o.kubernetes.authentication.requestHeaderClientCAFile), "CA bundle for the front-proxy client certificate; default: from the extension-apiserver-authentication ConfigMap.")
    ("requestheader-allowed-names", po::value(&f.allowedNames), "Front-proxy certificate common names allowed (comma-separated); empty: any the CA signed.")
    ("requestheader-username-headers", po::value(&f.userHeaders)->default_value(f.userHeaders), "Request headers with the user name (first non-empty wins).")
    ("requestheader-uid-headers", po::value(&f.uidHeaders), "Request headers with the user's UID.")
    ("requestheader-group-headers", po::value(&f.groupHeaders)->default_value(f.groupHeaders), "Request headers with the user's groups (one group per header).")
    ("requestheader-extra-headers-prefix", po::value(&f.extraPrefixes)->default_value(f.extraPrefixes), "Prefixes of request headers with extra user attributes.")
    ("authentication-skip-lookup", po::bool_switch(&o.kubernetes.authentication.skipLookup), "Do not read the extension-apiserver-authentication ConfigMap; only the flags above apply.")
    ("authentication-token-webhook-cache-ttl", po::value(&f.tokenTtl)->default_value("10s"), "How long TokenReview answers are cached.")
    ("authorization-webhook-cache-authorized-ttl", po::value(&f.allowedTtl)->default_value("10s"), "How long allowing SubjectAccessReview answers are cached.")
    ("authorization-webhook-cache-unauthorized-ttl", po::value(&f.deniedTtl)->default_value("10s"), "How long denying SubjectAccessReview answers are cached.")
    ("authorization-always-allow-paths", po::value(&f.allowPaths)->default_value(f.allowPaths), "Paths served without authentication or authorization (comma-separated; /x/* matches below /x/).");
  // clang-format on
}

void applyServingFlags(AdapterOptions& o, const RawFlags& f, const po::variables_map& vm) {
  if (o.configFile.empty()) throw std::invalid_argument("--config is required");
  if (f.port < 0 || f.port > 65535) throw std::invalid_argument("--secure-port must be 0-65535");
  o.server.port = static_cast<uint16_t>(f.port);
  o.server.requestTimeout = parseDurationFlag("request-timeout", f.requestTimeout);
  o.server.requestHeaderTimeout = parseDurationFlag("request-header-timeout", f.headerTimeout);
  if (f.maxInflight < 0) throw std::invalid_argument("--max-requests-inflight must be 0 or more");
  o.server.maxRequestsInflight = f.maxInflight;
  o.bindAddressSet = vm.count("bind-address") > 0;
  o.server.bindAddress =
      o.bindAddressSet ? f.bindAddress : (o.standalone ? "127.0.0.1" : "0.0.0.0");
}

void applyBackendFlags(AdapterOptions& o, const RawFlags& f) {
  o.prometheus.timeout = parseDurationFlag("prometheus-timeout", f.timeout);
  if (f.prometheusMaxInflight < 0)
    throw std::invalid_argument("--prometheus-max-inflight must be 0 or more");
  o.prometheus.maxInflight = static_cast<size_t>(f.prometheusMaxInflight);
  o.prometheus.maxResponseBytes = parseBytesFlag("prometheus-max-response-bytes", f.maxResponse);
  o.relist.interval = parseDurationFlag("metrics-relist-interval", f.relistInterval);
  o.relist.maxAge =
      f.maxAge.empty() ? o.relist.interval : parseDurationFlag("metrics-max-age", f.maxAge);
  o.shutdownGracePeriod = parseDurationFlag("shutdown-grace-period", f.grace);
  if (o.prometheus.verb != "GET" && o.prometheus.verb != "POST") {
    throw std::invalid_argument("--prometheus-verb must be GET or POST");
  }
  for (const auto& h : f.headers) o.prometheus.headers.push_back(parseHeaderFlag(h));
  if (f.logFormat == "json")
    o.logFormat = common::Logger::Format::Json;
  else if (f.logFormat != "text")
    throw std::invalid_argument("--log-format must be text or json");
  if (o.tlsCertFile.empty() != o.tlsPrivateKeyFile.empty()) {
    throw std::invalid_argument("--tls-cert-file and --tls-private-key-file go together");
  }
}

void applyQueueStatsFlags(AdapterOptions& o, const RawFlags& f) {
  o.queueStats.maxAge = parseDurationFlag("queue-stats-max-age", f.queueStatsMaxAge);
  if (o.queueStats.certFile.empty() != o.queueStats.keyFile.empty()) {
    throw std::invalid_argument(
        "--queue-stats-client-cert and --queue-stats-client-key go together");
  }
  if (o.queueStats.address.empty() &&
      (!o.queueStats.caFile.empty() || !o.queueStats.certFile.empty())) {
    throw std::invalid_argument(
        "--queue-stats-ca-file and --queue-stats-client-cert need --queue-stats-address");
  }
  if (o.server.threads < 0)
    throw std::invalid_argument("--server-threads must be 0 (one per core) or more");
}

}  // namespace

// The pod's service-account token, when it is mounted; else none.
static std::string defaultUpstreamToken() {
  return access(kServiceAccountTokenFile, R_OK) == 0 ? kServiceAccountTokenFile : "";
}

void applyUpstreamFlags(UpstreamsOptions& o, const UpstreamFlags& u) {
  o.discoveryInterval = parseDurationFlag("upstream-discovery-interval", u.discoveryInterval);
  if (u.maxInflight < 0) throw std::invalid_argument("--upstream-max-inflight must be 0 or more");
  o.maxInflight = static_cast<size_t>(u.maxInflight);
  o.maxResponseBytes = parseBytesFlag("upstream-max-response-bytes", u.maxResponse);
  if (u.certFile.empty() != u.keyFile.empty())
    throw std::invalid_argument("--upstream-client-cert and --upstream-client-key go together");
  bool perUpstreamFlags = !u.caFile.empty() || !u.tokenFile.empty() || !u.certFile.empty() ||
                          u.timeout != UpstreamFlags().timeout;
  if (!u.configFile.empty()) {
    if (!u.external.empty() || !u.custom.empty() || perUpstreamFlags) {
      throw std::invalid_argument(
          "--upstreams-config replaces --external-metrics-upstream, --custom-metrics-upstream "
          "and the --upstream-ca-file/-token-file/-client-cert/-timeout flags: use one or the "
          "other");
    }
    o.upstreams = loadUpstreamsConfig(u.configFile, defaultUpstreamToken());
    return;
  }
  UpstreamOptions common;
  common.tls.caFile = u.caFile;
  common.tls.certFile = u.certFile;
  common.tls.keyFile = u.keyFile;
  common.tokenFile = u.tokenFile.empty() ? defaultUpstreamToken() : u.tokenFile;
  common.timeout = parseDurationFlag("upstream-timeout", u.timeout);
  for (auto [urls, api] : {std::pair{&u.external, apiservice::MetricsApi::External},
                           std::pair{&u.custom, apiservice::MetricsApi::Custom}}) {
    for (const auto& url : *urls) {
      if (url.rfind("https://", 0) != 0) {
        throw std::invalid_argument("--" + apiName(api) + "-metrics-upstream=" + url +
                                    ": must be an https:// URL");
      }
      UpstreamOptions one = common;
      one.url = url;
      one.api = api;
      o.upstreams.push_back(std::move(one));
    }
  }
  if (o.upstreams.empty() && perUpstreamFlags) {
    throw std::invalid_argument(
        "--upstream-ca-file, --upstream-token-file, --upstream-client-cert and --upstream-timeout "
        "need "
        "--external-metrics-upstream or --custom-metrics-upstream");
  }
}

namespace {

void applyKubernetesFlags(KubernetesOptions& k, const RawFlags& f) {
  AuthenticationFlags& an = k.authentication;
  k.discoveryInterval = parseDurationFlag("discovery-interval", f.discoveryInterval);
  k.tokenCacheTtl = parseDurationFlag("authentication-token-webhook-cache-ttl", f.tokenTtl);
  k.authorizedCacheTtl =
      parseDurationFlag("authorization-webhook-cache-authorized-ttl", f.allowedTtl);
  k.unauthorizedCacheTtl =
      parseDurationFlag("authorization-webhook-cache-unauthorized-ttl", f.deniedTtl);
  k.alwaysAllowPaths = splitList(f.allowPaths);
  an.requestHeaderAllowedNames = splitList(f.allowedNames);
  an.requestHeaderUsernameHeaders = splitList(f.userHeaders);
  an.requestHeaderGroupHeaders = splitList(f.groupHeaders);
  an.requestHeaderExtraHeadersPrefix = splitList(f.extraPrefixes);
  an.requestHeaderUidHeaders = splitList(f.uidHeaders);
  if (k.qps < 0) throw std::invalid_argument("--kube-api-qps must not be negative");
  if (k.burst < 1) throw std::invalid_argument("--kube-api-burst must be at least 1");
  if (!an.requestHeaderClientCAFile.empty() && an.requestHeaderUsernameHeaders.empty()) {
    throw std::invalid_argument(
        "--requestheader-username-headers must name at least one header when "
        "--requestheader-client-ca-file is set");
  }
}

// Kubernetes flags mean nothing without a Kubernetes connection: refuse
// them rather than ignore them.
void refuseClusterFlagsWhenStandalone(const AdapterOptions& o) {
  if (!o.standalone) return;
  const KubernetesOptions& k = o.kubernetes;
  const AuthenticationFlags& an = k.authentication;
  for (const auto& [flag, set] :
       {std::pair{"lister-kubeconfig", !k.listerKubeconfig.empty()},
        std::pair{"authentication-kubeconfig", !k.authenticationKubeconfig.empty()},
        std::pair{"authorization-kubeconfig", !k.authorizationKubeconfig.empty()},
        std::pair{"client-ca-file", !an.clientCAFile.empty()},
        std::pair{"requestheader-client-ca-file", !an.requestHeaderClientCAFile.empty()}}) {
    if (set) {
      throw std::invalid_argument(std::string("--") + flag +
                                  " has no effect with --standalone (no Kubernetes connection, "
                                  "no authentication)");
    }
  }
}

}  // namespace

ParsedOptions parseAdapterOptions(const std::vector<std::string>& args) {
  ParsedOptions out;
  AdapterOptions& o = out.options;
  RawFlags f;
  UpstreamFlags u;
  po::options_description desc(
      "metrics-adapter: Kubernetes custom and external metrics from Prometheus.\n\nFlags");
  describeAdapterFlags(desc, o, f);
  describeUpstreamFlags(desc, u);
  describeKubernetesFlags(desc, o, f);
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
  applyServingFlags(o, f, vm);
  applyBackendFlags(o, f);
  applyQueueStatsFlags(o, f);
  applyKubernetesFlags(o.kubernetes, f);
  applyUpstreamFlags(o.upstreams, u);
  refuseClusterFlagsWhenStandalone(o);
  return out;
}

}  // namespace adapter
