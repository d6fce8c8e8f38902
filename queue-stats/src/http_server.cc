#include "queue_stats/http_server.h"

#include <utility>  // Boost 1.74 asio needs it first

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace queue_stats {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::pair<std::string, int> parseListenAddress(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("expected host:port or :port, got \"" + listen + "\"");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  std::string port = listen.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    throw std::invalid_argument("invalid port in \"" + listen + "\"");
  return {host, std::stoi(port)};
}

struct HttpServer::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  Handler handler;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket s, HttpServer::Impl* impl) : stream_(std::move(s)), impl_(impl) {}
  void read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buf_, req_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;
                       self->answer();
                     });
  }

 private:
  void answer() {
    std::string target(req_.target());
    HttpAnswer a =
        impl_->handler(std::string(req_.method_string()), target.substr(0, target.find('?')));
    res_ = {static_cast<http::status>(a.status), req_.version()};
    res_.set(http::field::content_type, a.contentType);
    res_.body() = req_.method() == http::verb::head ? "" : std::move(a.body);
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->res_.keep_alive()) return;
      self->read();
    });
  }
  beast::tcp_stream stream_;
  // Not owned: Impl owns the io_context whose handlers own every
  // connection (a shared_ptr would be a cycle leaking them at exit).
  HttpServer::Impl* impl_;
  beast::flat_buffer buf_;
  http::request<http::empty_body> req_;
  http::response<http::string_body> res_;
};

void accept(HttpServer::Impl* impl) {
  impl->acceptor.async_accept([impl](beast::error_code ec, tcp::socket s) {
    if (!impl->acceptor.is_open()) return;
    if (!ec) std::make_shared<Connection>(std::move(s), impl)->read();
    accept(impl);
  });
}

}  // namespace

HttpServer::HttpServer(const std::string& listen, Handler handler, int threads)
    : impl_(std::make_shared<Impl>()) {
  impl_->handler = std::move(handler);
  auto [host, port] = parseListenAddress(listen);
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(host, ec), static_cast<unsigned short>(port));
  if (ec) throw std::runtime_error("invalid listen address " + listen + ": " + ec.message());
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + listen + ": " + ec.message());
  port_ = impl_->acceptor.local_endpoint().port();
  accept(impl_.get());
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
}

HttpServer::~HttpServer() {
  asio::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->ioc.stop();
  for (auto& t : threads_) t.join();
}

}  // namespace queue_stats
