#include "apiservice/tls_socket.h"

#include <openssl/err.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <new>

namespace apiservice {

namespace asio = boost::asio;
using common::Task;
using tcp = asio::ip::tcp;

namespace {
auto redirect(TlsSocket::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }
}  // namespace

TlsSocket::TlsSocket(tcp::socket socket, std::shared_ptr<asio::ssl::context> ctx)
    : ctx_(std::move(ctx)),
      socket_(std::move(socket)),
      ssl_(SSL_new(ctx_->native_handle())),
      timer_(socket_.get_executor()),
      deadline_(std::make_shared<Deadline>(Deadline{&socket_})) {
  if (!ssl_) throw std::bad_alloc();
  error_code ec;
  socket_.non_blocking(true, ec);  // fails only for a closed socket: the handshake then fails
  SSL_set_fd(ssl_, socket_.native_handle());
  SSL_set_accept_state(ssl_);
}

TlsSocket::~TlsSocket() {
  deadline_->socket = nullptr;
  SSL_free(ssl_);
}

void TlsSocket::expiresAfter(std::chrono::steady_clock::duration d) {
  if (deadline_->expired) return;
  timer_.expires_after(d);
  timer_.async_wait([dl = deadline_](error_code ec) {
    if (ec || !dl->socket) return;
    dl->expired = true;
    error_code ignored;
    dl->socket->cancel(ignored);
  });
}

void TlsSocket::expiresNever() { timer_.cancel(); }

TlsSocket::error_code TlsSocket::failure(int sslError) const {
  if (sslError == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  // A peer gone without close_notify is an end of stream here, as for Go.
  if (e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    if (sslError == SSL_ERROR_SYSCALL && errno != 0)
      return {errno, boost::system::system_category()};
    return asio::error::eof;
  }
  return {static_cast<int>(e), asio::error::get_ssl_category()};
}

Task<TlsSocket::error_code> TlsSocket::retry(int result) {
  int err = SSL_get_error(ssl_, result);
  if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) co_return failure(err);
  if (deadline_->expired) co_return asio::error::timed_out;
  error_code ec;
  auto what = err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
  co_await socket_.async_wait(what, redirect(ec));
  if (deadline_->expired) co_return asio::error::timed_out;
  co_return ec;
}

Task<TlsSocket::error_code> TlsSocket::handshake() {
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return error_code{};
    error_code ec = co_await retry(r);
    if (ec) co_return ec;
  }
}

Task<TlsSocket::error_code> TlsSocket::waitReadable() {
  if (SSL_has_pending(ssl_)) co_return error_code{};
  error_code ec;
  co_await socket_.async_wait(tcp::socket::wait_read, redirect(ec));
  if (deadline_->expired) co_return asio::error::timed_out;
  co_return ec;
}

Task<size_t> TlsSocket::readSome(asio::mutable_buffer into, error_code& ec) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    int r = SSL_read_ex(ssl_, into.data(), into.size(), &n);
    if (r == 1) co_return n;
    ec = co_await retry(r);
    if (ec) co_return 0;
  }
}

Task<TlsSocket::error_code> TlsSocket::write(asio::const_buffer data) {
  auto* p = static_cast<const char*>(data.data());
  size_t left = data.size();
  while (left > 0) {
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    int r = SSL_write_ex(ssl_, p, left, &n);
    if (r == 1) {
      p += n;
      left -= n;
      continue;
    }
    error_code ec = co_await retry(r);
    if (ec) co_return ec;
  }
  co_return error_code{};
}

Task<void> TlsSocket::shutdown() {
  for (;;) {
    ERR_clear_error();
    int r = SSL_shutdown(ssl_);
    if (r == 1) co_return;
    if (r == 0) continue;  // ours is sent; the next call reads the peer's
    error_code ec = co_await retry(r);
    if (ec) co_return;
  }
}

}  // namespace apiservice
