#include "adapter/upstream/https_upstream.h"

#include <limits>

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

HttpsUpstream::HttpsUpstream(const UpstreamOptions& o, const UpstreamsOptions& limits)
    : name_(o.url),
      api_(o.api),
      timeout_(o.timeout),
      maxResponseBytes_(limits.maxResponseBytes),
      token_(o.tokenFile.empty() ? nullptr : std::make_unique<common::SecretFile>(o.tokenFile)),
      discovery_(parseHttpsUrl(o.url), o.tls, o.timeout, 2),
      async_(parseHttpsUrl(o.url), o.tls,
             common::AsyncClientOptions{o.timeout, limits.maxResponseBytes, 32}),
      inflight_(limits.maxInflight ? limits.maxInflight : std::numeric_limits<size_t>::max()) {}

std::vector<std::pair<std::string, std::string>> HttpsUpstream::headers() const {
  std::vector<std::pair<std::string, std::string>> h{{"Accept", "application/json"}};
  if (token_) {
    try {
      h.emplace_back("Authorization", "Bearer " + token_->read());
    } catch (const common::SecretFileError& e) {
      throw UpstreamUnavailable("upstream " + name_ + ": " + e.what());
    }
  }
  return h;
}

common::Task<common::ClientResponse> HttpsUpstream::get(const std::string& target,
                                                        const common::RequestContext& ctx) const {
  auto permit = co_await inflight_.acquire(ctx);
  if (!permit || ctx.expired()) {
    if (ctx.cancelled() || ctx.expired()) ctx.check("waiting to call upstream " + name_);
    throw UpstreamUnavailable("upstream " + name_ + ": " + std::to_string(inflight_.permits()) +
                              " calls are already in flight (--upstream-max-inflight)");
  }
  common::ClientRequest req;
  req.target = target;
  req.headers = headers();
  try {
    co_return co_await async_.send(req, ctx);
  } catch (const common::ResponseTooLarge& e) {
    throw UpstreamUnavailable("upstream " + name_ + ": " + e.what() +
                              " (--upstream-max-response-bytes)");
  } catch (const common::HttpClientError& e) {
    ctx.check("calling upstream " + name_);  // the request's deadline, not the upstream's
    throw UpstreamUnavailable("upstream " + name_ + ": " + e.what());
  }
}

std::vector<ListedMetric> HttpsUpstream::discover(const std::string& version,
                                                  common::CancelToken* cancel) const {
  bool custom = api_ == apiservice::MetricsApi::Custom;
  common::ClientRequest req;
  req.target = std::string("/apis/") +
               (custom ? "custom.metrics.k8s.io/" : "external.metrics.k8s.io/") + version;
  req.headers = headers();
  req.cancel = cancel;
  std::string body;
  int status = 0;
  try {
    status = discovery_.stream(req, [&](int, common::HttpClient::BodyReader& read) {
      char buf[16384];
      while (size_t n = read(buf, sizeof buf)) {
        body.append(buf, n);
        if (maxResponseBytes_ && body.size() > maxResponseBytes_) {
          throw UpstreamUnavailable("upstream " + name_ + ": discovery answer larger than " +
                                    std::to_string(maxResponseBytes_) +
                                    " bytes (--upstream-max-response-bytes)");
        }
      }
    });
  } catch (const common::HttpClientError& e) {
    throw UpstreamUnavailable("upstream " + name_ + ": " + e.what());
  }
  if (status == 404) return {};
  if (status != 200) {
    throw UpstreamUnavailable("upstream " + name_ + ": " + req.target + " answered " +
                              std::to_string(status) + ": " + body.substr(0, 200));
  }
  return parseListedMetrics(body, kMaxListedMetrics);
}

}  // namespace adapter
