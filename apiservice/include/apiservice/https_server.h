// The HTTPS listener: TLS 1.2+, HTTP/1.1 keep-alive, one single-threaded
// io_context per thread, each connection a coroutine on one of them. A
// handler is a coroutine too, so a slow backend holds no thread: health
// checks and fast requests are served while others wait.
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
#include "common/coro.h"
#include "common/logger.h"
#include "common/request_context.h"

namespace apiservice {

struct ServerOptions {
  std::string bindAddress = "0.0.0.0";
  uint16_t port = 6443;  // 0 picks a free port
  int threads = 0;       // 0: one per core (nothing blocks a thread)
  size_t maxHeaderBytes = 1 << 20;
  std::chrono::seconds idleTimeout{90};                   // a keep-alive connection with no request
  std::chrono::milliseconds requestHeaderTimeout{10000};  // --request-header-timeout
  std::chrono::milliseconds requestTimeout{60000};        // --request-timeout
  int maxRequestsInflight = 400;                          // --max-requests-inflight; 0: no limit
  // Never refused for the inflight limit (probes must not fail under load).
  std::vector<std::string> unlimitedPaths{"/healthz", "/livez", "/readyz"};
};

// Answers one request; `ctx` carries its deadline and is cancelled when the
// client goes away. Must not throw (the server answers 500 if it does).
using Handler =
    std::function<common::Task<HttpResponse>(const HttpRequest&, const common::RequestContext&)>;

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
  // Requests being handled now (health checks included).
  int inflight() const;
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
