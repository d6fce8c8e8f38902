#include "common/async_http_client.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "http_wire.h"

namespace common {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TimePoint = RequestContext::Clock::time_point;

struct AsyncHttpClient::Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

namespace {

std::atomic<uint64_t> nextPoolKey{1};

// The idle connections of every client on one io_context; destroyed with
// it, so no connection outlives the thread that runs it.
class ConnectionPools : public asio::execution_context::service {
 public:
  using key_type = ConnectionPools;
  static inline asio::execution_context::id id;
  explicit ConnectionPools(asio::execution_context& ctx) : service(ctx) {}
  void shutdown() override { idle.clear(); }
  std::map<uint64_t, std::vector<std::unique_ptr<AsyncHttpClient::Connection>>> idle;
};

ConnectionPools& poolsOf(const asio::any_io_executor& ex) {
  return asio::use_service<ConnectionPools>(asio::query(ex, asio::execution::context));
}

}  // namespace

AsyncHttpClient::AsyncHttpClient(Url url, TlsClientOptions tls, AsyncClientOptions opts)
    : url_(std::move(url)), opts_(opts), poolKey_(nextPoolKey.fetch_add(1)) {
  if (url_.scheme == "https") {
    tls_ = wire::makeTlsContext(tls);
    serverName_ = tls.serverName.empty() ? url_.host : tls.serverName;
  }
}

AsyncHttpClient::~AsyncHttpClient() = default;

Task<std::unique_ptr<AsyncHttpClient::Connection>> AsyncHttpClient::connect(
    TimePoint deadline, const RequestContext& ctx) {
  auto ex = co_await asio::this_coro::executor;
  auto c = std::make_unique<Connection>();
  if (tls_) {
    c->secure.emplace(ex, *tls_);
    if (!SSL_set_tlsext_host_name(c->secure->native_handle(), serverName_.c_str()))
      throw HttpClientError("cannot set TLS server name " + serverName_);
    c->secure->set_verify_callback(asio::ssl::host_name_verification(serverName_));
  } else {
    c->plain.emplace(ex);
  }
  // getaddrinfo runs on asio's resolver thread; the timer bounds it.
  auto resolver = std::make_shared<tcp::resolver>(ex);
  asio::steady_timer bound(ex, deadline);
  bound.async_wait([w = std::weak_ptr<tcp::resolver>(resolver)](beast::error_code ec) {
    if (auto r = w.lock(); r && !ec) r->cancel();
  });
  auto hook = ctx.onCancel([w = std::weak_ptr<tcp::resolver>(resolver)] {
    if (auto r = w.lock()) r->cancel();
  });
  beast::error_code ec;
  auto endpoints = co_await resolver->async_resolve(url_.host, url_.port,
                                                    asio::redirect_error(asio::use_awaitable, ec));
  bound.cancel();
  if (ec == asio::error::operation_aborted) ctx.check("resolving " + url_.host);
  if (ec) throw HttpClientError("cannot resolve " + url_.host + ": " + ec.message());
  hook = ctx.onCancel([conn = c.get()] { conn->lowest().cancel(); });
  c->lowest().expires_at(deadline);
  co_await c->lowest().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  ctx.check("connecting to " + url_.host + ":" + url_.port);
  if (ec)
    throw HttpClientError("cannot connect to " + url_.host + ":" + url_.port + ": " +
                          (ec == beast::error::timeout ? "timed out" : ec.message()));
  c->lowest().socket().set_option(tcp::no_delay(true), ec);
  if (tls_) {
    c->lowest().expires_at(deadline);
    co_await c->secure->async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
    ctx.check("TLS handshake with " + url_.host + ":" + url_.port);
    if (ec)
      throw HttpClientError("TLS handshake with " + url_.host + ":" + url_.port +
                            " failed: " + ec.message());
  }
  co_return c;
}

namespace {

// Runs `op` on the connection's stream, TLS or plain.
template <class Op>
Task<size_t> onStream(AsyncHttpClient::Connection& c, Op op) {
  if (c.secure) return op(*c.secure);
  return op(*c.plain);
}

// Room for the next read. Small answers grow as a string does; past
// 1 MiB the buffer goes straight to the limit (plus one read), so a
// chunked answer refused at 64 MiB leaves no trail of freed 2, 4, ... 32
// MiB buffers behind (freed arena memory stays resident), and pages of the
// reservation that are never written cost nothing.
void reserveWithin(std::string& body, uint64_t max) {
  constexpr size_t kRead = 128 * 1024;  // more than one read's worth (64 KiB)
  constexpr size_t kSmall = 1 << 20;
  if (!max || body.capacity() >= body.size() + kRead) return;
  uint64_t want = body.size() + kRead < kSmall
                      ? std::max<uint64_t>(2 * body.capacity(), body.size() + kRead)
                      : max + kRead;
  body.reserve(static_cast<size_t>(std::min<uint64_t>(want, max + kRead)));
}

// Reads the answer, refusing it as soon as its declared or received body
// exceeds the limit (memory stays within the limit plus one read).
Task<beast::error_code> readLimited(AsyncHttpClient::Connection& c,
                                    http::response_parser<http::string_body>& p, TimePoint deadline,
                                    const Url& url, uint64_t max) {
  beast::error_code ec;
  c.lowest().expires_at(deadline);
  co_await onStream(c, [&](auto& s) {
    return http::async_read_header(s, c.buffer, p, asio::redirect_error(asio::use_awaitable, ec));
  });
  auto tooLarge = [&] {
    return ResponseTooLarge("the answer from " + url.host + ":" + url.port + " is larger than " +
                                std::to_string(max) + " bytes",
                            max);
  };
  if (!ec && max && p.content_length() && *p.content_length() > max) throw tooLarge();
  while (!ec && !p.is_done()) {
    reserveWithin(p.get().body(), max);
    co_await onStream(c, [&](auto& s) {
      return http::async_read_some(s, c.buffer, p, asio::redirect_error(asio::use_awaitable, ec));
    });
    if (max && p.get().body().size() > max) throw tooLarge();
  }
  co_return ec;
}
}  // namespace

Task<ClientResponse> AsyncHttpClient::exchange(Connection& c, const ClientRequest& req,
                                               TimePoint deadline, bool& stale) {
  auto wireReq = wire::request(url_, req);
  beast::error_code ec;
  c.lowest().expires_at(deadline);
  co_await onStream(c, [&](auto& s) {
    return http::async_write(s, wireReq, asio::redirect_error(asio::use_awaitable, ec));
  });
  http::response_parser<http::string_body> parser;
  // Beast 1.74 enforces no limit it is given (an optional compared the
  // wrong way): effectively off here, and readLimited counts instead.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) ec = co_await readLimited(c, parser, deadline, url_, opts_.maxResponseBytes);
  if (ec) {
    stale = wire::staleConnection(ec) && !parser.got_some();
    throw HttpClientError(wire::failure(url_, ec, opts_.timeout));
  }
  auto& res = parser.get();
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  out.contentType = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  stale = !res.keep_alive();  // here: whether the connection must not be reused
  co_return out;
}

Task<ClientResponse> AsyncHttpClient::send(const ClientRequest& req, const RequestContext& ctx) {
  ctx.check("request to " + url_.host + ":" + url_.port);
  auto timeout = req.timeout.count() > 0 ? req.timeout : opts_.timeout;
  TimePoint deadline = ctx.deadlineWithin(timeout);
  auto& idle = poolsOf(co_await asio::this_coro::executor).idle[poolKey_];
  // A pooled connection may have been closed by the server while idle; one
  // retry on a fresh connection covers that without retrying real failures.
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> c;
    bool reused = !idle.empty();
    if (reused) {
      c = std::move(idle.back());
      idle.pop_back();
    } else {
      c = co_await connect(deadline, ctx);
    }
    auto hook = ctx.onCancel([conn = c.get()] { conn->lowest().cancel(); });
    bool stale = false;
    std::exception_ptr failure;
    try {
      ClientResponse out = co_await exchange(*c, req, deadline, stale);
      if (!stale && idle.size() < opts_.maxIdlePerThread) {
        c->lowest().expires_never();
        idle.push_back(std::move(c));
      }
      co_return out;
    } catch (const HttpClientError&) {
      failure = std::current_exception();
    }
    // Rethrown outside the handler: GCC 12 coroutines mishandle `throw;`.
    ctx.check("request to " + url_.host + ":" + url_.port);
    if (!(reused && attempt == 0 && stale)) std::rethrow_exception(failure);
  }
}

}  // namespace common
