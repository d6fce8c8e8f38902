// The request path's HTTP/1.1 client (HTTP or HTTPS): coroutines that
// never block a thread, a deadline from the request on every call, a
// cancel when the request's client leaves, an answer-size limit, and
// keep-alive connections pooled per serving thread (each io_context owns
// its pool, so a connection never changes threads).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/coro.h"
#include "common/http_client.h"
#include "common/request_context.h"

namespace boost::asio::ssl {
class context;
}

namespace common {

// The answer was larger than the client accepts.
class ResponseTooLarge : public HttpClientError {
 public:
  ResponseTooLarge(const std::string& msg, uint64_t limit) : HttpClientError(msg), limit_(limit) {}
  uint64_t limit() const { return limit_; }

 private:
  uint64_t limit_;
};

struct AsyncClientOptions {
  std::chrono::milliseconds timeout{10000};  // per call, within the request's deadline
  uint64_t maxResponseBytes = 0;             // 0: no limit
  size_t maxIdlePerThread = 32;
};

class AsyncHttpClient {
 public:
  // Throws HttpClientError when the TLS material cannot be loaded.
  AsyncHttpClient(Url url, TlsClientOptions tls, AsyncClientOptions opts);
  ~AsyncHttpClient();
  AsyncHttpClient(const AsyncHttpClient&) = delete;
  AsyncHttpClient& operator=(const AsyncHttpClient&) = delete;

  // Sends `req` and reads the whole answer. Throws HttpClientError
  // (ResponseTooLarge over the limit) or RequestAborted.
  Task<ClientResponse> send(const ClientRequest& req, const RequestContext& ctx);

  const Url& url() const { return url_; }
  const AsyncClientOptions& options() const { return opts_; }
  struct Connection;

 private:
  Task<std::unique_ptr<Connection>> connect(RequestContext::Clock::time_point deadline,
                                            const RequestContext& ctx);
  Task<ClientResponse> exchange(Connection& c, const ClientRequest& req,
                                RequestContext::Clock::time_point deadline, bool& stale);

  Url url_;
  AsyncClientOptions opts_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // null for http
  std::string serverName_;
  uint64_t poolKey_;  // unique per client: a pool never hands a connection to another backend
};

}  // namespace common
