// The plain-HTTP endpoint Prometheus and the kubelet talk to: /metrics,
// /healthz and /readyz.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace queue_stats {

struct HttpAnswer {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpAnswer(const std::string& method, const std::string& path)>;
  // `listen` is "host:port" or ":port" (all interfaces); port 0 picks one.
  // Throws std::runtime_error when it cannot listen.
  HttpServer(const std::string& listen, Handler handler, int threads = 2);
  ~HttpServer();
  int port() const { return port_; }
  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

// Splits "host:port" / ":port" / "[::1]:port"; throws std::invalid_argument.
std::pair<std::string, int> parseListenAddress(const std::string& listen);

}  // namespace queue_stats
