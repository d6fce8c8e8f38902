#include "common/http_client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <optional>

#include "http_wire.h"

namespace common {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Url Url::parse(const std::string& text) {
  Url u;
  auto sep = text.find("://");
  if (sep == std::string::npos)
    throw HttpClientError("URL \"" + text + "\" has no scheme (expected http:// or https://)");
  u.scheme = text.substr(0, sep);
  if (u.scheme != "http" && u.scheme != "https") {
    throw HttpClientError("URL \"" + text + "\": scheme must be http or https");
  }
  std::string rest = text.substr(sep + 3);
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.pathPrefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.pathPrefix.empty() && u.pathPrefix.back() == '/') u.pathPrefix.pop_back();
  if (hostport.find('@') != std::string::npos) {
    throw HttpClientError("URL \"" + u.scheme +
                          "://...\": credentials in the URL are not supported; use the auth flags");
  }
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos)
      throw HttpClientError("URL \"" + text + "\": unterminated IPv6 address");
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      u.port = hostport.substr(close + 2);
  } else {
    auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) u.port = hostport.substr(colon + 1);
  }
  if (u.host.empty()) throw HttpClientError("URL \"" + text + "\" has no host");
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  return u;
}

std::string Url::str() const { return scheme + "://" + host + ":" + port + pathPrefix; }

std::string Url::hostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool defaultPort = (scheme == "https" && port == "443") || (scheme == "http" && port == "80");
  return defaultPort ? h : h + ":" + port;
}

struct HttpClient::TlsState {
  std::shared_ptr<asio::ssl::context> ctx;
};

void CancelToken::cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (active_) static_cast<asio::io_context*>(active_)->stop();
}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool CancelToken::attach(void* ioContext) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  active_ = ioContext;
  return true;
}

void CancelToken::detach() {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = nullptr;
}

struct HttpClient::Connection {
  asio::io_context ioc{1};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  CancelToken* cancel = nullptr;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Runs one asynchronous operation to completion on this connection's own
  // io_context; the stream's expiry turns a stall into error::timeout, and
  // a cancel stops the context (operation_aborted).
  template <class Initiate>
  beast::error_code run(std::chrono::steady_clock::time_point deadline, Initiate&& initiate) {
    beast::error_code result = asio::error::would_block;
    lowest().expires_at(deadline);
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    if (cancel && !cancel->attach(&ioc)) return asio::error::operation_aborted;
    ioc.run();
    if (cancel) {
      cancel->detach();
      if (result == asio::error::would_block) return asio::error::operation_aborted;
    }
    return result;
  }
};

HttpClient::HttpClient(Url url, TlsClientOptions tls, std::chrono::milliseconds timeout,
                       size_t maxIdle)
    : url_(std::move(url)), timeout_(timeout), maxIdle_(maxIdle) {
  if (url_.scheme == "https") {
    tls_ = std::make_unique<TlsState>();
    tls_->ctx = wire::makeTlsContext(tls);
    serverName_ = tls.serverName.empty() ? url_.host : tls.serverName;
  }
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Connection> HttpClient::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<Connection>();
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  tcp::resolver resolver(c->ioc);
  tcp::resolver::results_type endpoints;
  beast::error_code ec = asio::error::would_block;
  resolver.async_resolve(url_.host, url_.port,
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                         });
  c->ioc.run_for(timeout_);
  if (ec == asio::error::would_block)
    throw HttpClientError("resolving " + url_.host + " timed out");
  if (ec) throw HttpClientError("cannot resolve " + url_.host + ": " + ec.message());
  if (tls_) {
    c->secure.emplace(c->ioc, *tls_->ctx);
    if (!SSL_set_tlsext_host_name(c->secure->native_handle(), serverName_.c_str())) {
      throw HttpClientError("cannot set TLS server name " + serverName_);
    }
    c->secure->set_verify_callback(asio::ssl::host_name_verification(serverName_));
  } else {
    c->plain.emplace(c->ioc);
  }
  ec = c->run(deadline, [&](auto h) { c->lowest().async_connect(endpoints, h); });
  if (ec)
    throw HttpClientError("cannot connect to " + url_.host + ":" + url_.port + ": " + ec.message());
  c->lowest().socket().set_option(tcp::no_delay(true), ec);
  if (tls_) {
    ec = c->run(deadline,
                [&](auto h) { c->secure->async_handshake(asio::ssl::stream_base::client, h); });
    if (ec)
      throw HttpClientError("TLS handshake with " + url_.host + ":" + url_.port +
                            " failed: " + ec.message());
  }
  return c;
}

void HttpClient::release(std::unique_ptr<Connection> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < maxIdle_) idle_.push_back(std::move(c));
}

ClientResponse HttpClient::send(const ClientRequest& req) {
  ClientResponse out;
  out.status = stream(req, [&](int status, BodyReader& read) {
    out.status = status;
    char buf[16384];
    while (size_t n = read(buf, sizeof buf)) out.body.append(buf, n);
  });
  return out;
}

namespace {

[[noreturn]] void throwRequestFailure(const Url& url, beast::error_code ec,
                                      std::chrono::milliseconds timeout) {
  throw HttpClientError(wire::failure(url, ec, timeout));
}

}  // namespace

int HttpClient::stream(const ClientRequest& req,
                       const std::function<void(int, BodyReader&)>& onBody) {
  // A pooled connection may have been closed by the server while idle; one
  // retry on a fresh connection covers that without retrying real failures.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reused = !idle_.empty();
    }
    auto c = acquire();
    c->cancel = req.cancel;
    auto timeout = req.timeout.count() > 0 ? req.timeout : timeout_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto r = wire::request(url_, req);
    beast::error_code ec = c->run(deadline, [&](auto h) {
      if (c->secure)
        http::async_write(*c->secure, r, h);
      else
        http::async_write(*c->plain, r, h);
    });
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec) {
      ec = c->run(deadline, [&](auto h) {
        if (c->secure)
          http::async_read_header(*c->secure, c->buffer, parser, h);
        else
          http::async_read_header(*c->plain, c->buffer, parser, h);
      });
    }
    if (ec) {
      bool stale = reused && attempt == 0 && wire::staleConnection(ec);
      if (stale) continue;
      throwRequestFailure(url_, ec, timeout);
    }
    int status = static_cast<int>(parser.get().result_int());
    bool failed = false;
    // Returns as soon as some body bytes arrived, so a watch stream's events
    // are handed over when they come, not when a buffer fills.
    BodyReader read = [&](char* buf, size_t len) -> size_t {
      while (!parser.is_done() && !failed) {
        parser.get().body().data = buf;
        parser.get().body().size = len;
        beast::error_code e = c->run(deadline, [&](auto h) {
          if (c->secure)
            http::async_read_some(*c->secure, c->buffer, parser, h);
          else
            http::async_read_some(*c->plain, c->buffer, parser, h);
        });
        if (e == http::error::need_buffer) e = {};
        if (e) {
          failed = true;
          throw HttpClientError("reading the response from " + url_.host + ":" + url_.port +
                                " failed: " +
                                (e == beast::error::timeout            ? "timed out"
                                 : e == asio::error::operation_aborted ? "cancelled"
                                                                       : e.message()));
        }
        size_t produced = len - parser.get().body().size;
        if (produced > 0) return produced;
      }
      return 0;
    };
    onBody(status, read);
    // Reuse only a connection whose response was read to the end.
    c->cancel = nullptr;
    if (parser.is_done() && parser.keep_alive()) release(std::move(c));
    return status;
  }
}

}  // namespace common
