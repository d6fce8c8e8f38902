// The HTTPS listener: TLS 1.2+, HTTP/1.1 keep-alive, a pool of threads
// running both I/O and handlers, and a draining shutdown.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apiservice/http_types.h"
#include "apiservice/tls_credentials.h"
#include "common/logger.h"

namespace apiservice {

struct ServerOptions {
  std::string bindAddress = "0.0.0.0";
  uint16_t port = 6443;  // 0 picks a free port
  int threads = 16;      // handlers may wait on the backend, so more than the core count
  size_t maxHeaderBytes = 1 << 20;
  std::chrono::seconds idleTimeout{90};
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

class HttpsServer {
 public:
  HttpsServer(ServerOptions opts, std::shared_ptr<TlsCredentials> tls, Handler handler,
              common::Logger& log);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Binds and starts serving; throws std::runtime_error when it cannot bind.
  void start();
  uint16_t port() const { return port_; }
  // Stops accepting, lets in-flight requests finish (up to `grace`), then
  // closes every connection.
  void shutdown(std::chrono::milliseconds grace);

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

}  // namespace apiservice
