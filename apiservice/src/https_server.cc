#include "apiservice/https_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <atomic>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <csignal>
#include <map>
#include <optional>
#include <sstream>

#include "apiservice/request_target.h"
#include "apiservice/status.h"
#include "apiservice/tls_socket.h"
#include "common/duration.h"

namespace apiservice {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using common::Task;

// One io_context per thread, each connection pinned to one of them: a
// request never hops threads, so there are no strands and no handoffs (a
// shared io_context spent ~45% of the CPU in context switches).
struct HttpsServer::State {
  ServerOptions opts;
  std::shared_ptr<TlsCredentials> tls;
  Handler handler;
  common::Logger& log;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  tcp::acceptor acceptor;
  size_t next = 0;  // round-robin over contexts; touched only by the acceptor's thread
  std::atomic<bool> draining{false};
  std::atomic<int> inflight{0};
  std::atomic<int> limited{0};  // the requests --max-requests-inflight counts

  State(ServerOptions o, std::shared_ptr<TlsCredentials> t, Handler h, common::Logger& l)
      : opts(std::move(o)),
        tls(std::move(t)),
        handler(std::move(h)),
        log(l),
        contexts(makeContexts(threadCount(opts.threads))),
        acceptor(*contexts[0]) {}

  static int threadCount(int wanted) {
    if (wanted > 0) return wanted;
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  static std::vector<std::unique_ptr<asio::io_context>> makeContexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (int i = 0; i < n; ++i) v.push_back(std::make_unique<asio::io_context>(1));
    return v;
  }
  asio::io_context& nextContext() { return *contexts[next++ % contexts.size()]; }
};

namespace {

using Parser = http::request_parser<http::string_body>;

std::string der(X509* x) {
  unsigned char* buf = nullptr;
  int n = i2d_X509(x, &buf);
  std::string out = n > 0 ? std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n)) : "";
  OPENSSL_free(buf);
  return out;
}

// The chain is read once per connection; authenticators verify it.
std::shared_ptr<const std::vector<std::string>> peerCertificates(SSL* ssl) {
  X509* leaf = SSL_get1_peer_certificate(ssl);
  if (!leaf) return nullptr;
  auto chain = std::make_shared<std::vector<std::string>>();
  chain->push_back(der(leaf));
  // On the server side the peer's chain does not include its leaf.
  if (STACK_OF(X509)* rest = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(rest); ++i) {
      X509* c = sk_X509_value(rest, i);
      if (X509_cmp(c, leaf) != 0) chain->push_back(der(c));
    }
  }
  X509_free(leaf);
  return chain;
}

HttpResponse statusResponse(int code, const std::string& reason, const std::string& message) {
  HttpResponse r;
  r.status = code;
  r.body = statusJson(code, reason, message);
  return r;
}

bool unlimited(const std::vector<std::string>& paths, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

// kube-apiserver's ?timeout=: a shorter deadline for this one request
// (a longer one, or 0, leaves --request-timeout). nullopt when malformed.
std::optional<std::chrono::milliseconds> requestTimeout(std::string_view target,
                                                        std::chrono::milliseconds limit) {
  size_t q = target.find('?');
  if (q == std::string_view::npos || target.find("timeout=", q) == std::string_view::npos)
    return limit;
  std::map<std::string, std::string> query;
  try {
    query = decodeQuery(target.substr(q + 1));
  } catch (const std::exception&) {
    return limit;  // the router answers the malformed query
  }
  auto it = query.find("timeout");
  if (it == query.end()) return limit;
  auto ms = common::parseDurationMillis(it->second);
  if (!ms) return std::nullopt;
  if (*ms <= 0 || *ms >= limit.count()) return limit;
  return std::chrono::milliseconds(*ms);
}

// Cancels `ctx` when the client hangs up while its request is handled:
// the socket turns readable with nothing to read (FIN), a reset, or a TLS
// alert (close_notify). Pipelined request bytes leave it alone.
class DisconnectWatch {
 public:
  DisconnectWatch(tcp::socket& socket, const common::RequestContext& ctx)
      : socket_(socket), target_(std::make_shared<const common::RequestContext*>(&ctx)) {
    socket_.async_wait(tcp::socket::wait_read, [t = target_, &s = socket_](beast::error_code ec) {
      if (ec || !*t) return;
      char b = 0;
      ssize_t n = ::recv(s.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
      bool gone =
          n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || (n == 1 && b == 21);
      if (gone) const_cast<common::RequestContext*>(*t)->cancel();
    });
  }
  ~DisconnectWatch() {
    *target_ = nullptr;
    beast::error_code ec;
    socket_.cancel(ec);
  }

 private:
  tcp::socket& socket_;
  std::shared_ptr<const common::RequestContext*> target_;
};

auto redirect(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

class Connection {
 public:
  Connection(tcp::socket&& socket, HttpsServer::State& st)
      : st_(st), tls_(std::move(socket), st.tls->context()) {
    beast::error_code ec;
    auto ep = tls_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  Task<void> serve() {
    tls_.expiresAfter(st_.opts.requestHeaderTimeout);
    beast::error_code ec = co_await tls_.handshake();
    if (ec) {
      st_.log.v(4, "TLS handshake failed", {{"remote", remote_}, {"error", ec.message()}});
      co_return;
    }
    peer_ = peerCertificates(tls_.native());
    for (bool first = true;; first = false) {
      Parser parser;
      parser.header_limit(static_cast<uint32_t>(st_.opts.maxHeaderBytes));
      parser.body_limit(1 << 20);
      ec = co_await readRequest(parser, first);
      if (ec == http::error::end_of_stream) co_return co_await close();
      if (ec == http::error::header_limit || ec == http::error::body_limit)
        co_return co_await refuse(ec == http::error::header_limit);
      if (ec) co_return;  // timeouts, resets, TLS errors: nothing to answer
      bool keepAlive = parser.get().keep_alive() && !st_.draining.load();
      tls_.expiresNever();  // the request's own deadline bounds the answer
      HttpResponse out = co_await answer(parser.get());
      if (!co_await write(std::move(out), parser.get().version(), keepAlive)) co_return;
      if (!keepAlive) co_return co_await close();
      if (buffer_.size() == 0) buffer_.shrink_to_fit();  // idle connections stay small
    }
  }

 private:
  // An idle keep-alive connection waits up to the idle timeout for its next
  // request; once its first byte arrives the request has
  // --request-header-timeout (Go's IdleTimeout and ReadHeaderTimeout).
  Task<beast::error_code> readRequest(Parser& parser, bool first) {
    bool started = first || buffer_.size() > 0;
    tls_.expiresAfter(started ? st_.opts.requestHeaderTimeout : st_.opts.idleTimeout);
    beast::error_code ec;
    for (;;) {
      if (buffer_.size() > 0) {
        size_t used = parser.put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec == http::error::need_more) ec = {};
        if (ec || parser.is_done()) co_return ec;
        if (used > 0) continue;
      }
      ec = co_await tls_.waitReadable();
      if (ec) co_return ec;
      size_t n = co_await tls_.readSome(buffer_.prepare(beast::read_size(buffer_, 65536)), ec);
      buffer_.commit(n);
      if (ec == asio::error::eof) co_return endOfInput(parser);
      if (ec) co_return ec;
      if (!started) {
        started = true;
        tls_.expiresAfter(st_.opts.requestHeaderTimeout);
      }
    }
  }

  // The peer closed: between requests that is the end of the stream.
  static beast::error_code endOfInput(Parser& parser) {
    if (!parser.got_some()) return http::error::end_of_stream;
    beast::error_code ec;
    parser.put_eof(ec);
    return ec ? ec : http::error::partial_message;
  }

  HttpRequest toRequest(const http::request<http::string_body>& req) const {
    HttpRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.remoteAddress = remote_;
    in.peerCertificates = peer_;
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      in.headers.emplace(std::move(name), std::string(f.value()));
    }
    return in;
  }

  Task<HttpResponse> answer(const http::request<http::string_body>& req) {
    HttpRequest in = toRequest(req);
    int limit = st_.opts.maxRequestsInflight;
    bool counted = !unlimited(st_.opts.unlimitedPaths, in.target);
    if (counted && limit > 0 && st_.limited.fetch_add(1) >= limit) {
      st_.limited.fetch_sub(1);
      co_return tooManyRequests();
    }
    auto timeout = requestTimeout(in.target, st_.opts.requestTimeout);
    if (!timeout) {
      if (counted && limit > 0) st_.limited.fetch_sub(1);
      co_return statusResponse(400, "BadRequest", "invalid timeout specified in the request URL");
    }
    st_.inflight.fetch_add(1);
    HttpResponse out;
    try {
      common::RequestContext ctx = common::RequestContext::withTimeout(*timeout);
      DisconnectWatch watch(tls_.socket(), ctx);
      out = co_await st_.handler(in, ctx);
    } catch (const std::exception& e) {
      out = statusResponse(500, "InternalError", std::string("internal error: ") + e.what());
    }
    st_.inflight.fetch_sub(1);
    if (counted && limit > 0) st_.limited.fetch_sub(1);
    if (in.method == "HEAD") out.body.clear();
    co_return out;
  }

  // kube-apiserver's answer beyond --max-requests-inflight.
  HttpResponse tooManyRequests() const {
    HttpResponse r = statusResponse(429, "TooManyRequests",
                                    "Too many requests, please try again later. (more than " +
                                        std::to_string(st_.opts.maxRequestsInflight) +
                                        " requests in flight: --max-requests-inflight)");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }

  static std::string head(const HttpResponse& out, unsigned version, bool keepAlive) {
    http::response<http::empty_body> res{static_cast<http::status>(out.status), version};
    res.set(http::field::server, "metrics-adapter");
    res.set(http::field::content_type, out.contentType);
    res.set(http::field::cache_control, "no-cache, private");
    for (const auto& [k, v] : out.headers) res.set(k, v);
    res.keep_alive(keepAlive);
    res.content_length(out.body.size());
    std::ostringstream os;
    os << res.base();
    return os.str();
  }

  // One TLS record (one SSL_write, one send) for a small answer: two
  // records cost both ends a read each (~13% of throughput at c=8). A large
  // body goes out uncopied after its header.
  Task<bool> write(HttpResponse out, unsigned version, bool keepAlive) {
    constexpr size_t kCoalesce = 64 * 1024;
    std::string h = head(out, version, keepAlive);
    bool together = out.body.size() <= kCoalesce;
    if (together) h += out.body;
    tls_.expiresAfter(std::chrono::seconds(30));
    beast::error_code ec = co_await tls_.write(asio::buffer(h));
    if (!ec && !together) ec = co_await tls_.write(asio::buffer(out.body));
    co_return !ec;
  }

  // 431 or 413, then a lingering close: the client may still be sending.
  Task<void> refuse(bool headers) {
    HttpResponse r = headers
                         ? statusResponse(431, "RequestHeaderFieldsTooLarge",
                                          "request line and headers exceed " +
                                              std::to_string(st_.opts.maxHeaderBytes) + " bytes")
                         : statusResponse(413, "RequestEntityTooLarge", "request body too large");
    if (co_await write(std::move(r), 11, false)) co_await lingeringClose();
  }

  // Closing a socket with unread input makes the kernel send a reset, which
  // can destroy the answer before the client reads it. So: stop sending,
  // discard what still arrives (at most 16 MiB or 2 s), then close.
  Task<void> lingeringClose() {
    beast::error_code ec;
    tls_.socket().shutdown(tcp::socket::shutdown_send, ec);
    tls_.expiresAfter(std::chrono::seconds(2));
    std::array<char, 4096> sink;
    for (size_t total = 0; total <= (16u << 20);) {
      co_await tls_.socket().async_wait(tcp::socket::wait_read, redirect(ec));
      if (ec) co_return;
      size_t n = tls_.socket().read_some(asio::buffer(sink), ec);
      if (ec == asio::error::would_block) continue;
      if (ec) co_return;
      total += n;
    }
  }

  Task<void> close() {
    tls_.expiresAfter(std::chrono::seconds(5));
    co_await tls_.shutdown();
  }

  HttpsServer::State& st_;
  TlsSocket tls_;
  beast::flat_buffer buffer_;
  std::string remote_;
  std::shared_ptr<const std::vector<std::string>> peer_;
};

Task<void> serveConnection(tcp::socket socket, HttpsServer::State* st) {
  std::optional<Connection> c;
  try {
    c.emplace(std::move(socket), *st);
  } catch (const std::exception& e) {
    st->log.error("cannot set up a TLS connection", {{"error", e.what()}});
    co_return;
  }
  co_await c->serve();
}

void accept(HttpsServer::State* st) {
  st->acceptor.async_accept(st->nextContext(), [st](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) return;
    if (!ec) {
      // Header and body go out as separate TLS records; Nagle must not hold the second.
      beast::error_code nodelay;
      socket.set_option(tcp::no_delay(true), nodelay);
      auto ex = socket.get_executor();
      asio::co_spawn(ex, serveConnection(std::move(socket), st), asio::detached);
    } else {
      st->log.v(2, "accept failed", {{"error", ec.message()}});
    }
    accept(st);
  });
}

}  // namespace

HttpsServer::HttpsServer(ServerOptions opts, std::shared_ptr<TlsCredentials> tls, Handler handler,
                         common::Logger& log)
    : state_(std::make_shared<State>(std::move(opts), std::move(tls), std::move(handler), log)) {}

HttpsServer::~HttpsServer() { shutdown(std::chrono::milliseconds(0)); }

int HttpsServer::inflight() const { return state_->inflight.load(); }

void HttpsServer::start() {
  // OpenSSL writes the socket with write(2): a peer that has gone must be
  // an EPIPE for that connection, not a SIGPIPE that ends the process.
  ::signal(SIGPIPE, SIG_IGN);
  auto& st = *state_;
  beast::error_code ec;
  auto addr = asio::ip::make_address(st.opts.bindAddress, ec);
  if (ec)
    throw std::runtime_error("invalid --bind-address " + st.opts.bindAddress + ": " + ec.message());
  tcp::endpoint ep(addr, st.opts.port);
  st.acceptor.open(ep.protocol(), ec);
  if (!ec) st.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(ep, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + st.opts.bindAddress + ":" +
                             std::to_string(st.opts.port) + ": " + ec.message());
  }
  port_ = st.acceptor.local_endpoint().port();
  accept(state_.get());
  for (auto& ctx : st.contexts) {
    threads_.emplace_back([c = ctx.get()] {
      auto guard = asio::make_work_guard(*c);  // idle contexts keep waiting for connections
      c->run();
    });
  }
}

void HttpsServer::shutdown(std::chrono::milliseconds grace) {
  if (threads_.empty()) return;
  auto& st = *state_;
  st.draining = true;
  asio::post(*st.contexts[0], [s = state_.get()] {
    beast::error_code ec;
    s->acceptor.close(ec);
  });
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (st.inflight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& c : st.contexts) c->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace apiservice
