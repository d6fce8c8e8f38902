// loadgen: N keep-alive connections sending GETs to one URL (HTTP or
// HTTPS), closed-loop (as fast as answers come) or at a fixed total rate.
// Prints one JSON line: requests, errors, rps, p50/p90/p99/max in ms.
//   loadgen --url URL --concurrency N --seconds S [--rate R]
//           [--cert PEM --key PEM] [--header "Name: value"]...
//           [--expect STATUS[,STATUS...]] [--unique-bearer-tokens]
// A client certificate and headers make it look like kube-aggregator
// (front-proxy certificate, X-Remote-User, X-Remote-Group). An answer
// with a status not in --expect (default 200) counts as an error.
// --unique-bearer-tokens sends a token never sent before with each
// request (a flood no review cache can answer).
#include <unistd.h>

#include <utility>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
  bool tls = false;
  std::string host, port, path;
};

Target parseUrl(const std::string& url) {
  Target t;
  auto sep = url.find("://");
  t.tls = url.substr(0, sep) == "https";
  std::string rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  std::string hp = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hp.rfind(':');
  t.host = hp.substr(0, colon);
  t.port = colon == std::string::npos ? (t.tls ? "443" : "80") : hp.substr(colon + 1);
  return t;
}

class Connection {
 public:
  Connection(const Target& t, asio::ssl::context& ctx,
             const std::vector<std::pair<std::string, std::string>>& headers,
             const std::set<int>& expect, std::string tokenPrefix)
      : t_(t), ctx_(ctx), headers_(headers), expect_(expect), tokenPrefix_(std::move(tokenPrefix)) {
    connect();
  }

  // One request; returns false on error (and reconnects for the next).
  bool get() {
    try {
      http::request<http::empty_body> req{http::verb::get, t_.path, 11};
      req.set(http::field::host, t_.host);
      for (const auto& [k, v] : headers_) req.insert(k, v);
      if (!tokenPrefix_.empty())
        req.set(http::field::authorization,
                "Bearer " + tokenPrefix_ + "-" + std::to_string(sent_++));
      req.keep_alive(true);
      http::response<http::string_body> res;
      if (tls_) {
        http::write(*tls_, req);
        http::read(*tls_, buf_, res);
      } else {
        http::write(*plain_, req);
        http::read(*plain_, buf_, res);
      }
      if (!res.keep_alive()) connect();
      return expect_.count(static_cast<int>(res.result_int())) > 0;
    } catch (const std::exception&) {
      connect();
      return false;
    }
  }

 private:
  void connect() {
    tls_.reset();
    plain_.reset();
    buf_.clear();
    tcp::resolver r(ioc_);
    auto eps = r.resolve(t_.host, t_.port);
    if (t_.tls) {
      tls_.emplace(ioc_, ctx_);
      beast::get_lowest_layer(*tls_).connect(eps);
      beast::get_lowest_layer(*tls_).socket().set_option(tcp::no_delay(true));
      tls_->handshake(asio::ssl::stream_base::client);
    } else {
      plain_.emplace(ioc_);
      plain_->connect(eps);
      plain_->socket().set_option(tcp::no_delay(true));
    }
  }
  const Target& t_;
  asio::ssl::context& ctx_;
  const std::vector<std::pair<std::string, std::string>>& headers_;
  const std::set<int>& expect_;
  std::string tokenPrefix_;  // empty: no Authorization header
  size_t sent_ = 0;
  asio::io_context ioc_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::optional<beast::tcp_stream> plain_;
  beast::flat_buffer buf_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int concurrency = 1;
  double seconds = 5, rate = 0;
  std::string cert, key;
  std::vector<std::pair<std::string, std::string>> headers;
  std::set<int> expect{200};
  bool uniqueTokens = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--unique-bearer-tokens") uniqueTokens = true;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--unique-bearer-tokens") {
      --i;  // a switch, no value
      continue;
    }
    if (f == "--expect") {
      expect.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string code; std::getline(list, code, ',');) expect.insert(std::stoi(code));
    } else if (f == "--url")
      url = argv[i + 1];
    else if (f == "--concurrency")
      concurrency = std::stoi(argv[i + 1]);
    else if (f == "--seconds")
      seconds = std::stod(argv[i + 1]);
    else if (f == "--rate")
      rate = std::stod(argv[i + 1]);
    else if (f == "--cert")
      cert = argv[i + 1];
    else if (f == "--key")
      key = argv[i + 1];
    else if (f == "--header") {
      std::string h = argv[i + 1];
      auto colon = h.find(':');
      std::string v = colon == std::string::npos ? "" : h.substr(colon + 1);
      v.erase(0, v.find_first_not_of(' '));
      headers.emplace_back(h.substr(0, colon), v);
    }
  }
  if (url.empty()) {
    std::cerr << "usage: loadgen --url URL --concurrency N --seconds S [--rate R]\n";
    return 2;
  }
  Target t = parseUrl(url);
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  if (!cert.empty()) {
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, asio::ssl::context::pem);
  }
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<long> errors{0};
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int w = 0; w < concurrency; ++w) {
    threads.emplace_back([&, w] {
      std::string prefix =
          uniqueTokens ? "flood-" + std::to_string(::getpid()) + "-" + std::to_string(w) : "";
      Connection c(t, ctx, headers, expect, prefix);
      c.get();  // warm the connection outside the measurement
      std::vector<double> mine;
      // With --rate each worker sends on its own schedule, offset so the
      // total is evenly spread; latency counts from the scheduled time.
      double interval = rate > 0 ? concurrency / rate : 0;
      auto next = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(interval * w / concurrency));
      while (true) {
        auto sched = rate > 0 ? next : Clock::now();
        if (rate > 0) std::this_thread::sleep_until(sched);
        if (sched >= end) break;
        bool ok = c.get();
        auto done = Clock::now();
        if (!ok) ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(done - sched).count());
        if (rate > 0)
          next +=
              std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(latencies.size() - 1,
                              static_cast<size_t>(p * static_cast<double>(latencies.size())))];
  };
  std::printf(
      "{\"requests\":%zu,\"errors\":%ld,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%."
      "3f,\"max_ms\":%.3f}\n",
      latencies.size(), errors.load(), static_cast<double>(latencies.size()) / elapsed, pct(0.50),
      pct(0.90), pct(0.99), latencies.empty() ? 0.0 : latencies.back());
  return errors.load() > 0 ? 1 : 0;
}
