#include "apiservice/https_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "apiservice/status.h"

namespace apiservice {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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

  State(ServerOptions o, std::shared_ptr<TlsCredentials> t, Handler h, common::Logger& l)
      : opts(std::move(o)),
        tls(std::move(t)),
        handler(std::move(h)),
        log(l),
        contexts(makeContexts(std::max(1, opts.threads))),
        acceptor(*contexts[0]) {}

  static std::vector<std::unique_ptr<asio::io_context>> makeContexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (int i = 0; i < n; ++i) v.push_back(std::make_unique<asio::io_context>(1));
    return v;
  }
  asio::io_context& nextContext() { return *contexts[next++ % contexts.size()]; }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<asio::ssl::context> ctx, HttpsServer::State* st)
      : ctx_(std::move(ctx)), st_(st), stream_(std::move(socket), *ctx_) {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

 private:
  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
    stream_.async_handshake(
        asio::ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
          if (ec) {
            self->st_->log.v(4, "TLS handshake failed",
                             {{"remote", self->remote_}, {"error", ec.message()}});
            return;
          }
          self->capturePeerCertificates();
          self->read();
        });
  }

  // The chain is read once per connection; authenticators verify it.
  void capturePeerCertificates() {
    SSL* ssl = stream_.native_handle();
    X509* leaf = SSL_get1_peer_certificate(ssl);
    if (!leaf) return;
    auto chain = std::make_shared<std::vector<std::string>>();
    auto der = [](X509* x) {
      unsigned char* buf = nullptr;
      int n = i2d_X509(x, &buf);
      std::string out =
          n > 0 ? std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n)) : "";
      OPENSSL_free(buf);
      return out;
    };
    chain->push_back(der(leaf));
    // On the server side the peer's chain does not include its leaf.
    if (STACK_OF(X509)* rest = SSL_get_peer_cert_chain(ssl)) {
      for (int i = 0; i < sk_X509_num(rest); ++i) {
        X509* c = sk_X509_value(rest, i);
        if (X509_cmp(c, leaf) != 0) chain->push_back(der(c));
      }
    }
    X509_free(leaf);
    peer_ = std::move(chain);
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(st_->opts.maxHeaderBytes));
    parser_->body_limit(1 << 20);
    beast::get_lowest_layer(stream_).expires_after(st_->opts.idleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::header_limit) {
      HttpResponse r;
      r.status = 431;
      r.body = statusJson(
          431, "RequestHeaderFieldsTooLarge",
          "request line and headers exceed " + std::to_string(st_->opts.maxHeaderBytes) + " bytes");
      return write(std::move(r), 11, false, /*drainFirst=*/true);
    }
    if (ec == http::error::body_limit) {
      HttpResponse r;
      r.status = 413;
      r.body = statusJson(413, "RequestEntityTooLarge", "request body too large");
      return write(std::move(r), 11, false, /*drainFirst=*/true);
    }
    if (ec) return;  // timeouts, resets, TLS errors: nothing to answer
    auto& req = parser_->get();
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
    st_->inflight.fetch_add(1);
    HttpResponse out = st_->handler(in);
    st_->inflight.fetch_sub(1);
    if (in.method == "HEAD") out.body.clear();
    write(std::move(out), req.version(), req.keep_alive() && !st_->draining.load());
  }

  // `drainFirst`: the client may still be sending the refused request; see
  // lingeringClose().
  void write(HttpResponse out, unsigned version, bool keepAlive, bool drainFirst = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(out.status), version);
    res->set(http::field::server, "metrics-adapter");
    res->set(http::field::content_type, out.contentType);
    res->set(http::field::cache_control, "no-cache, private");
    for (const auto& [k, v] : out.headers) res->set(k, v);
    res->keep_alive(keepAlive);
    res->body() = std::move(out.body);
    res->prepare_payload();
    res_ = res;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write(
        stream_, *res_,
        [self = shared_from_this(), keepAlive, drainFirst](beast::error_code ec, size_t) {
          self->res_.reset();
          if (ec) return;
          if (drainFirst) return self->lingeringClose();
          if (keepAlive)
            self->read();
          else
            self->close();
        });
  }

  // Closing a socket with unread input makes the kernel send a reset, which
  // can destroy the answer before the client reads it. So: stop sending,
  // discard what still arrives (at most 16 MiB or 2 s), then close.
  void lingeringClose() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    drain_ = std::make_unique<std::array<char, 16384>>();
    discard(0);
  }

  void discard(size_t total) {
    if (total > (16u << 20)) return;
    beast::get_lowest_layer(stream_).async_read_some(
        asio::buffer(*drain_), [self = shared_from_this(), total](beast::error_code ec, size_t n) {
          if (!ec) self->discard(total + n);
        });
  }

  void close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  std::shared_ptr<asio::ssl::context> ctx_;  // must outlive stream_
  // Not owned: the State owns the io_contexts whose handlers own every
  // session, so it outlives them (and a shared_ptr here would be a cycle
  // that leaks whatever is still queued at shutdown).
  HttpsServer::State* st_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  std::unique_ptr<std::array<char, 16384>> drain_;
  std::string remote_;
  std::shared_ptr<const std::vector<std::string>> peer_;
};

void accept(HttpsServer::State* st) {
  st->acceptor.async_accept(st->nextContext(), [st](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) return;
    if (!ec) {
      // Header and body go out as separate TLS records; Nagle must not hold the second.
      beast::error_code nodelay;
      socket.set_option(tcp::no_delay(true), nodelay);
      std::make_shared<Session>(std::move(socket), st->tls->context(), st)->run();
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

void HttpsServer::start() {
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
