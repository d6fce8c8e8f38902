#include "adapter/kube/kube_client.h"

#include "common/file_stamp.h"

namespace adapter {

namespace {
common::Url parseServer(const KubeConnection& c) {
  try {
    return common::Url::parse(c.server);
  } catch (const common::HttpClientError& e) {
    throw KubeConfigError(c.source + ": server: " + e.what());
  }
}
}  // namespace

KubeClient::KubeClient(KubeConnection conn, KubeClientOptions opts)
    : conn_(std::move(conn)),
      opts_(opts),
      limiter_(opts.qps, opts.burst),
      http_(parseServer(conn_), conn_.tls, opts.timeout),
      async_(parseServer(conn_), conn_.tls, common::AsyncClientOptions{opts.timeout, 0, 32}) {}

std::string KubeClient::authorization() {
  if (!conn_.token.empty()) return "Bearer " + conn_.token;
  if (conn_.tokenFile.empty()) return "";
  // A stat per request; the file is read only when it changed.
  std::string stamp = common::fileStamp(conn_.tokenFile);
  std::lock_guard<std::mutex> lock(tokenMu_);
  if (stamp != tokenStamp_ || tokenHeader_.empty()) {
    auto t = common::readWholeFile(conn_.tokenFile);
    if (!t) throw KubeError("cannot read the token file " + conn_.tokenFile);
    while (!t->empty() && std::isspace(static_cast<unsigned char>(t->back()))) t->pop_back();
    tokenHeader_ = "Bearer " + *t;
    tokenStamp_ = stamp;
  }
  return tokenHeader_;
}

common::ClientRequest KubeClient::request(const std::string& method, const std::string& path) {
  limiter_.acquire();
  common::ClientRequest r;
  r.method = method;
  r.target = path;
  if (auto a = authorization(); !a.empty()) r.headers.emplace_back("Authorization", a);
  return r;
}

KubeReply KubeClient::get(const std::string& path) {
  try {
    common::ClientResponse res = http_.send(request("GET", path));
    return {res.status, std::move(res.body)};
  } catch (const common::HttpClientError& e) {
    throw KubeError("kube-apiserver (" + conn_.source + "): GET " + path + ": " + e.what());
  }
}

KubeReply KubeClient::post(const std::string& path, const std::string& jsonBody) {
  common::ClientRequest r = request("POST", path);
  r.body = jsonBody;
  r.headers.emplace_back("Content-Type", "application/json");
  try {
    common::ClientResponse res = http_.send(r);
    return {res.status, std::move(res.body)};
  } catch (const common::HttpClientError& e) {
    throw KubeError("kube-apiserver (" + conn_.source + "): POST " + path + ": " + e.what());
  }
}

int KubeClient::stream(const std::string& path, std::chrono::milliseconds timeout,
                       common::CancelToken* cancel,
                       const std::function<void(int, common::HttpClient::BodyReader&)>& onBody) {
  common::ClientRequest r = request("GET", path);
  r.timeout = timeout;
  r.cancel = cancel;
  try {
    return http_.stream(r, onBody);
  } catch (const common::HttpClientError& e) {
    throw KubeError("kube-apiserver (" + conn_.source + "): GET " + path + ": " + e.what());
  }
}

common::Task<KubeReply> KubeClient::send(const std::string& method, const std::string& path,
                                         const std::string& jsonBody,
                                         const common::RequestContext& ctx) {
  std::string what = "kube-apiserver (" + conn_.source + "): " + method + " " + path;
  auto wait = limiter_.reserve(opts_.maxRateLimitWait);
  if (!wait) {
    throw KubeError(what + ": more requests than the client-side rate limit (" +
                    std::to_string(static_cast<int>(limiter_.qps())) + "/s) can send in time");
  }
  if (*wait > RateLimiter::Duration::zero()) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, *wait);
    auto hook = ctx.onCancel([&timer] { timer.cancel(); });
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    ctx.check(what);
  }
  common::ClientRequest r;
  r.method = method;
  r.target = path;
  if (auto a = authorization(); !a.empty()) r.headers.emplace_back("Authorization", a);
  if (!jsonBody.empty()) {
    r.body = jsonBody;
    r.headers.emplace_back("Content-Type", "application/json");
  }
  try {
    common::ClientResponse res = co_await async_.send(r, ctx);
    co_return KubeReply{res.status, std::move(res.body)};
  } catch (const common::HttpClientError& e) {
    throw KubeError(what + ": " + e.what());
  }
}

}  // namespace adapter
