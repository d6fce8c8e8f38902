// HTTPS requests to AWS (SQS, STS) and the credential endpoints (ECS, EKS
// Pod Identity, EC2 IMDS), over libcurl: TLS verification, proxies from
// the environment (HTTPS_PROXY, NO_PROXY), keep-alive per session.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace queue_stats {

struct HttpRequestSpec {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The whole request's deadline (DNS, connect, TLS, answer): past it,
  // send() throws TransportError.
  std::chrono::milliseconds timeout{5000};
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// The request never reached an answer (DNS, connect, TLS, timeout).
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The seam for AWS clients: tests can answer requests themselves.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpReply send(const HttpRequestSpec& req) = 0;
};

// One connection-reusing session; not for concurrent use (one per worker).
class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(std::string caFile = "");
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;
  HttpReply send(const HttpRequestSpec& req) override;

 private:
  void* curl_;
  std::string caFile_;
};

}  // namespace queue_stats
