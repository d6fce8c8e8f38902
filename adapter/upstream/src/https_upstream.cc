#include "adapter/upstream/https_upstream.h"

#include <limits>

#include "common/file_stamp.h"

namespace adapter {

namespace {

// Discovery answers list metric names; a server listing more is broken.
constexpr size_t kMaxListedMetrics = 100000;

common::Url parseHttpsUrl(const std::string& url) {
  common::Url u;
  try {
    u = common::Url::parse(url);
  } catch (const common::HttpClientError& e) {
    throw std::invalid_argument("upstream " + url + ": " + e.what());
  }
  if (u.scheme != "https") {
    throw std::invalid_argument("upstream " + url +
                                ": must be https:// (the call carries our credentials)");
  }
  return u;
}

}  // namespace

HttpsUpstream::Clients::Clients(const UpstreamOptions& o, const UpstreamsOptions& limits)
    : discovery(parseHttpsUrl(o.url), o.tls, o.timeout, 2),
      async(parseHttpsUrl(o.url), o.tls,
            common::AsyncClientOptions{o.timeout, limits.maxResponseBytes, 32}) {}

HttpsUpstream::HttpsUpstream(const UpstreamOptions& o, const UpstreamsOptions& limits,
                             common::Logger* log)
    : options_(o),
      limits_(limits),
      log_(log),
      token_(o.tokenFile.empty() ? nullptr : std::make_unique<common::SecretFile>(o.tokenFile)),
      clients_(std::make_shared<const Clients>(o, limits)),
      loadedStamp_(tlsStamp()),
      inflight_(limits.maxInflight ? limits.maxInflight : std::numeric_limits<size_t>::max()) {}

std::string HttpsUpstream::tlsStamp() const {
  const auto& t = options_.tls;
  return common::fileStamp(t.caFile) + "|" + common::fileStamp(t.certFile) + "|" +
         common::fileStamp(t.keyFile);
}

void HttpsUpstream::reloadTlsIfChanged() const {
  std::string stamp = tlsStamp();
  if (stamp == loadedStamp_) return;
  loadedStamp_ = stamp;  // a broken file is reported once, not at every refresh
  try {
    clients_.store(std::make_shared<const Clients>(options_, limits_));
  } catch (const common::HttpClientError& e) {
    if (log_) {
      log_->error("upstream TLS files changed but cannot be loaded: the previous ones stay in use",
                  {{"upstream", name()}, {"error", e.what()}});
    }
    return;
  }
  if (log_) log_->info("upstream TLS files reloaded", {{"upstream", name()}});
}

std::vector<std::pair<std::string, std::string>> HttpsUpstream::headers() const {
  std::vector<std::pair<std::string, std::string>> h{{"Accept", "application/json"}};
  if (token_) {
    try {
      h.emplace_back("Authorization", "Bearer " + token_->read());
    } catch (const common::SecretFileError& e) {
      throw UpstreamUnavailable("upstream " + name() + ": " + e.what());
    }
  }
  return h;
}

common::Task<common::ClientResponse> HttpsUpstream::get(const std::string& target,
                                                        const common::RequestContext& ctx) const {
  auto permit = co_await inflight_.acquire(ctx);
  if (!permit || ctx.expired()) {
    if (ctx.cancelled() || ctx.expired()) ctx.check("waiting to call upstream " + name());
    throw UpstreamUnavailable("upstream " + name() + ": " + std::to_string(inflight_.permits()) +
                              " calls are already in flight (--upstream-max-inflight)");
  }
  common::ClientRequest req;
  req.target = target;
  req.headers = headers();
  auto clients = clients_.load();  // kept for the call: a reload may replace it
  try {
    co_return co_await clients->async.send(req, ctx);
  } catch (const common::ResponseTooLarge& e) {
    throw UpstreamUnavailable("upstream " + name() + ": " + e.what() +
                              " (--upstream-max-response-bytes)");
  } catch (const common::HttpClientError& e) {
    ctx.check("calling upstream " + name());  // the request's deadline, not the upstream's
    throw UpstreamUnavailable("upstream " + name() + ": " + e.what());
  }
}

std::vector<ListedMetric> HttpsUpstream::discover(const std::string& version,
                                                  common::CancelToken* cancel) const {
  reloadTlsIfChanged();
  auto clients = clients_.load();
  bool custom = api() == apiservice::MetricsApi::Custom;
  common::ClientRequest req;
  req.target = std::string("/apis/") +
               (custom ? "custom.metrics.k8s.io/" : "external.metrics.k8s.io/") + version;
  req.headers = headers();
  req.cancel = cancel;
  std::string body;
  int status = 0;
  try {
    status = clients->discovery.stream(req, [&](int, common::HttpClient::BodyReader& read) {
      char buf[16384];
      while (size_t n = read(buf, sizeof buf)) {
        body.append(buf, n);
        if (limits_.maxResponseBytes && body.size() > limits_.maxResponseBytes) {
          throw UpstreamUnavailable("upstream " + name() + ": discovery answer larger than " +
                                    std::to_string(limits_.maxResponseBytes) +
                                    " bytes (--upstream-max-response-bytes)");
        }
      }
    });
  } catch (const common::HttpClientError& e) {
    throw UpstreamUnavailable("upstream " + name() + ": " + e.what());
  }
  if (status == 404) return {};
  if (status != 200) {
    throw UpstreamUnavailable("upstream " + name() + ": " + req.target + " answered " +
                              std::to_string(status) + ": " + body.substr(0, 200));
  }
  return parseListedMetrics(body, kMaxListedMetrics);
}

}  // namespace adapter
