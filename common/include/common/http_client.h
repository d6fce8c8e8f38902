// A blocking HTTP/1.1 client over HTTP or HTTPS with a deadline on every
// request and a pool of keep-alive connections, so request paths never pay
// for a new TCP or TLS handshake under load.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace common {

class HttpClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Url {
  std::string scheme;  // http or https
  std::string host;
  std::string port;
  std::string pathPrefix;  // without trailing slash, e.g. "/prometheus"
  // Parses "https://host:9090/prefix"; throws HttpClientError.
  static Url parse(const std::string& text);
  std::string str() const;
  // The Host header: IPv6 addresses in brackets, the port unless it is
  // the scheme's default (as Go's client sends it for such URLs).
  std::string hostHeader() const;
};

struct TlsClientOptions {
  std::string caFile;
  std::string certFile;
  std::string keyFile;
  // PEM held in memory (kubeconfig *-data fields); used when the file is empty.
  std::string caPem;
  std::string certPem;
  std::string keyPem;
  std::string serverName;  // verify and send SNI for this name instead of the URL's host
  bool insecureSkipVerify = false;
};

// Stops a request in flight from another thread (watches on shutdown).
class CancelToken {
 public:
  void cancel();
  bool cancelled() const;

 private:
  friend class HttpClient;
  bool attach(void* ioContext);
  void detach();
  mutable std::mutex mu_;
  bool cancelled_ = false;
  void* active_ = nullptr;  // the io_context of the operation running now
};

struct ClientRequest {
  std::string method = "GET";
  std::string target;  // path and query, after the URL's prefix
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{0};  // 0: the client's timeout
  CancelToken* cancel = nullptr;
};

struct ClientResponse {
  int status = 0;
  std::string contentType;
  std::string body;
};

class HttpClient {
 public:
  HttpClient(Url url, TlsClientOptions tls, std::chrono::milliseconds timeout,
             size_t maxIdle = 128);
  ~HttpClient();

  // Sends a request and reads the whole response.
  ClientResponse send(const ClientRequest& req);
  // Sends a request and hands the body to `onBody` as it arrives: `read`
  // fills a buffer and returns the byte count, 0 at the end. Returns the
  // status code; `onBody` runs for every status.
  using BodyReader = std::function<size_t(char* buf, size_t len)>;
  int stream(const ClientRequest& req,
             const std::function<void(int status, BodyReader& read)>& onBody);

  const Url& url() const { return url_; }

 private:
  struct Connection;
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> c);

  Url url_;
  std::string serverName_;
  std::chrono::milliseconds timeout_;
  size_t maxIdle_;
  struct TlsState;
  std::unique_ptr<TlsState> tls_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace common
