// One server-side TLS connection, driven straight on its socket: OpenSSL
// reads and writes the file descriptor itself and the coroutine only waits
// for readiness. Asio's ssl::stream keeps four 17 KB buffers per connection
// (its engine's two and a BIO pair), ~75 KB for an idle keep-alive
// connection; here an idle one keeps no buffer at all
// (SSL_MODE_RELEASE_BUFFERS), so thousands of them stay cheap.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>

#include "common/coro.h"

namespace apiservice {

class TlsSocket {
 public:
  using error_code = boost::system::error_code;

  // `ctx` is kept alive as long as the connection (a reload replaces it).
  TlsSocket(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> ctx);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  SSL* native() { return ssl_; }

  // Bounds the operations that follow: once it passes, the pending one
  // fails with boost::asio::error::timed_out (and so do later ones).
  void expiresAfter(std::chrono::steady_clock::duration d);
  // No bound (while a request is being answered its own deadline applies).
  void expiresNever();

  common::Task<error_code> handshake();
  // Until bytes arrive. OpenSSL allocates its read buffer when a read
  // starts and keeps it while the read waits, so an idle connection waits
  // here first (and its caller allocates nothing before either).
  common::Task<error_code> waitReadable();
  // Some bytes, or an error; the peer's close is boost::asio::error::eof.
  common::Task<size_t> readSome(boost::asio::mutable_buffer into, error_code& ec);
  // All of `data`, or an error.
  common::Task<error_code> write(boost::asio::const_buffer data);
  // Sends close_notify and waits for the peer's (within the current bound).
  common::Task<void> shutdown();

 private:
  // Waits for what the failed OpenSSL call `result` needs; an error when it
  // cannot be retried.
  common::Task<error_code> retry(int result);
  error_code failure(int sslError) const;

  // Shared with the timer's handler, which may run after this is gone.
  struct Deadline {
    boost::asio::ip::tcp::socket* socket;
    bool expired = false;
  };

  std::shared_ptr<boost::asio::ssl::context> ctx_;
  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_ = nullptr;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Deadline> deadline_;
};

}  // namespace apiservice
