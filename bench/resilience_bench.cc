// resilience-bench: the adapter while what it depends on misbehaves.
//   1. /healthz p99 while 256 requests wait on a backend answering after 9 s
//   2. a fast query's p99 while 64 others wait on that backend
//   3. RSS growth with 5,000 idle keep-alive TLS connections; idle RSS
//   4. a 1 GiB backend answer: the Status and the peak RSS growth
//   5. front-proxy p99 during 1,000 req/s of unknown bearer tokens
// Every answer it times is checked (status codes, backend query counts,
// reviews sent); prints a Markdown table, exits 1 when a check fails.
//   resilience-bench [--seconds S]
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>  // before Boost 1.74's awaitable (see common/coro.h)

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_support.h"
#include "fake_apiserver.h"
#include "test_support.h"
#include "two_rules.h"

using namespace testsupport;
using namespace testsupport::two_rules;
using json = nlohmann::json;
using namespace std::chrono_literals;
using bench::Checks;

namespace {

std::string vectorOf(const std::string& labels) {
  return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":)" + labels +
         R"(,"value":[1700000000,"7"]}]}})";
}

// One keep-alive TLS connection that sent one request and then stays idle.
class IdleConnection {
 public:
  IdleConnection(boost::asio::io_context& ioc, boost::asio::ssl::context& ctx, int port)
      : stream_(ioc, ctx) {
    namespace http = boost::beast::http;
    boost::beast::get_lowest_layer(stream_).connect(
        {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    stream_.handshake(boost::asio::ssl::stream_base::client);
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream_, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream_, buf, res);
    ok_ = res.result_int() == 200 && res.keep_alive();
  }
  bool ok() const { return ok_; }

 private:
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  bool ok_ = false;
};

// A backend whose query answers are `bytes` of JSON sent chunked (no
// Content-Length, as Prometheus streams a large answer); counts what it
// managed to send before the adapter hung up.
class StreamingBackend {
 public:
  explicit StreamingBackend(size_t bytes) : bytes_(bytes) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen");
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~StreamingBackend() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    for (auto& t : workers_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t sent() const { return sent_.load(); }
  int queries() const { return queries_.load(); }

 private:
  void acceptLoop() {
    while (!stopping_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      workers_.emplace_back([this, c] { serve(c); });
    }
  }
  static bool sendAll(int c, const std::string& s) {
    for (size_t off = 0; off < s.size();) {
      ssize_t n = ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads one request (headers and a Content-Length body); false when the peer left.
  static bool readRequest(int c, std::string& buf, std::string& head) {
    for (;;) {
      size_t end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        head = buf.substr(0, end);
        size_t body = 0, cl = head.find("Content-Length: ");
        if (cl == std::string::npos) cl = head.find("content-length: ");
        if (cl != std::string::npos) body = std::stoul(head.substr(cl + 16));
        if (buf.size() >= end + 4 + body) {
          buf.erase(0, end + 4 + body);
          return true;
        }
      }
      char tmp[65536];
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
    }
  }
  void serve(int c) {
    std::string buf, head;
    while (readRequest(c, buf, head)) {
      if (head.find("/api/v1/series") != std::string::npos) {
        std::string s = kSeries;
        if (!sendAll(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(s.size()) + "\r\n\r\n" + s))
          break;
        continue;
      }
      ++queries_;
      streamAnswer(c);
      break;
    }
    ::close(c);
  }
  void streamAnswer(int c) {
    if (!sendAll(c,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n"))
      return;
    std::string sample = R"({"metric":{"pod":"p1"},"value":[1700000000,"7"]},)";
    std::string chunk;
    while (chunk.size() < (1u << 20)) chunk += sample;
    std::string first = R"({"status":"success","data":{"resultType":"vector","result":[)";
    auto frame = [](const std::string& s) {
      char len[32];
      std::snprintf(len, sizeof len, "%zx\r\n", s.size());
      return len + s + "\r\n";
    };
    if (!sendAll(c, frame(first))) return;
    std::string framed = frame(chunk);
    for (size_t done = first.size(); done < bytes_; done += chunk.size()) {
      if (!sendAll(c, framed)) return;
      sent_ += chunk.size();
    }
    sendAll(c, frame(R"({"metric":{"pod":"p1"},"value":[1700000000,"7"]}]}})") + "0\r\n\r\n");
  }

  size_t bytes_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> sent_{0};
  std::atomic<int> queries_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

struct Row {
  std::string figure, measured, target;
};

std::string ms(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f ms", v);
  return b;
}
std::string mb(long kb) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MB", static_cast<double>(kb) / 1024.0);
  return b;
}

std::unique_ptr<AdapterProcess> standalone(const TempDir& dir, const std::string& backend,
                                           std::vector<std::string> extra,
                                           const std::string& name) {
  std::vector<std::string> args{"--standalone", "--config=" + dir.file("config.yaml"),
                                "--prometheus-url=" + backend};
  args.insert(args.end(), extra.begin(), extra.end());
  auto a = std::make_unique<AdapterProcess>(args, dir, name);
  if (!a->waitReady(30s)) throw std::runtime_error("adapter not ready: " + a->process().log());
  return a;
}

// 1 and 2, and idle RSS: one adapter, a backend that is slow for q_depth.
void slowBackend(const TempDir& dir, const std::string& secs, std::vector<Row>& rows,
                 Checks& checks) {
  FakeBackend fake([](const FakeRequest& r) -> FakeResponse {
    if (r.target.find("/api/v1/series") != std::string::npos) return {200, kSeries, 0ms};
    if ((r.target + r.body).find("q_depth") != std::string::npos)
      return {200, vectorOf(R"({"queue":"a"})"), 9s};
    return {200, vectorOf(R"({"pod":"p1"})"), 0ms};
  });
  auto a = standalone(dir, fake.url(), {"--prometheus-max-inflight=256"}, "slow");
  std::this_thread::sleep_for(2s);
  long idle = bench::statusKb(a->process().pid(), "VmRSS:");
  rows.push_back({"idle RSS (standalone, two rules)", mb(idle), "<= 15 MB"});
  checks.expect(idle > 0, "idle RSS read");
  std::string base = "https://127.0.0.1:" + std::to_string(a->port());

  {
    Outstanding slow(a->port(), kExt, 256);
    std::this_thread::sleep_for(1s);
    json h =
        bench::loadgen({"--url", base + "/healthz", "--concurrency", "4", "--seconds", secs}, dir);
    rows.push_back({"`/healthz` p99 while 256 requests wait on a backend answering after 9 s",
                    ms(h["p99_ms"].get<double>()) + " (" +
                        std::to_string(h["requests"].get<int>()) + " probes)",
                    "<= 20 ms"});
    checks.expect(h["errors"] == 0 && h["requests"].get<int>() > 0, "every /healthz a 200");
    checks.expect(slow.ok() == 256, "the 256 slow requests answered 200 after 9 s");
    checks.expect(queriesFor(fake, "q_depth") == 256, "one backend query per slow request");
  }
  {
    size_t before = queriesFor(fake, "pod_load");
    Outstanding slow(a->port(), kExt, 64);
    std::this_thread::sleep_for(1s);
    json f = bench::loadgen({"--url", base + kPod, "--concurrency", "4", "--seconds", secs}, dir);
    rows.push_back({"a fast query p99 while 64 others wait on the slow backend",
                    ms(f["p99_ms"].get<double>()) + " (" +
                        std::to_string(f["requests"].get<int>()) + " queries)",
                    "<= 50 ms"});
    checks.expect(f["errors"] == 0 && f["requests"].get<int>() > 0, "every fast query a 200");
    // loadgen warms each connection with one request it does not time.
    checks.expect(
        queriesFor(fake, "pod_load") - before == static_cast<size_t>(f["requests"].get<int>() + 4),
        "one backend query per fast request");
    checks.expect(slow.ok() == 64, "the 64 slow requests answered 200");
  }
}

// 3: a fresh adapter, so the growth is the connections' alone.
void idleConnections(const TempDir& dir, std::vector<Row>& rows, Checks& checks) {
  FakeBackend fake([](const FakeRequest&) -> FakeResponse { return {200, kSeries, 0ms}; });
  auto a = standalone(dir, fake.url(), {}, "idle");
  std::this_thread::sleep_for(1s);
  long before = bench::statusKb(a->process().pid(), "VmRSS:");
  boost::asio::io_context ioc;
  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_client);
  ctx.set_verify_mode(boost::asio::ssl::verify_none);
  std::vector<std::unique_ptr<IdleConnection>> conns;
  size_t ok = 0;
  for (int i = 0; i < 5000; ++i) {
    conns.push_back(std::make_unique<IdleConnection>(ioc, ctx, a->port()));
    ok += conns.back()->ok();
  }
  std::this_thread::sleep_for(2s);
  long after = bench::statusKb(a->process().pid(), "VmRSS:");
  char per[64];
  std::snprintf(per, sizeof per, " (%.1f KB each)", static_cast<double>(after - before) / 5000.0);
  rows.push_back({"5,000 idle keep-alive TLS connections (one request each): RSS growth",
                  mb(after - before) + per, "<= 60 MB"});
  checks.expect(ok == 5000, "5,000 connections each answered 200 and kept alive");
  checks.expect(a->process().running(), "the adapter still runs");
}

// 4: the answer is refused at --prometheus-max-response-bytes (64 MiB).
void hugeAnswer(const TempDir& dir, std::vector<Row>& rows, Checks& checks) {
  StreamingBackend backend(size_t{1} << 30);
  auto a = standalone(dir, backend.url(), {}, "huge");
  std::this_thread::sleep_for(1s);
  long before = bench::statusKb(a->process().pid(), "VmRSS:");
  auto t0 = std::chrono::steady_clock::now();
  auto r = httpsGet(a->port(), kPod);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long peak = bench::statusKb(a->process().pid(), "VmHWM:");
  char what[160];
  std::snprintf(what, sizeof what, "%d after %.2f s, %.0f MiB read; peak RSS growth ", r.status,
                took, static_cast<double>(backend.sent()) / (1 << 20));
  rows.push_back({"a 1 GiB backend answer", what + mb(peak - before), "500, <= 80 MB"});
  checks.expect(r.status == 500, "a 500 Status");
  checks.expect(r.body.find("--prometheus-max-response-bytes") != std::string::npos,
                "the Status names the limit: " + r.body);
  checks.expect(backend.queries() == 1, "one backend query");
}

// 5: Kubernetes mode; HPA-like requests through the front proxy while
// unknown bearer tokens arrive at 1,000 req/s.
void tokenFlood(const TempDir& dir, const std::string& secs, std::vector<Row>& rows,
                Checks& checks) {
  FakeApiServer api;
  api.setPolicy([](const json&, std::string&) { return true; });
  api.upsert("pods", FakeApiServer::pod("ns", "p1", {{"app", "web"}}));
  FakeBackend fake([](const FakeRequest& r) -> FakeResponse {
    if (r.target.find("/api/v1/series") != std::string::npos) return {200, kSeries, 0ms};
    return {200, vectorOf(R"({"pod":"p1"})"), 0ms};
  });
  std::string kc = api.writeKubeconfig(dir, "adapter", FakeApiServer::kAdapterToken);
  AdapterProcess a({"--config=" + dir.file("config.yaml"), "--prometheus-url=" + fake.url(),
                    "--lister-kubeconfig=" + kc, "--authentication-kubeconfig=" + kc,
                    "--authorization-kubeconfig=" + kc},
                   dir, "kube");
  if (!a.waitReady(60s)) throw std::runtime_error("adapter not ready: " + a.process().log());
  KeyPair proxy = api.frontProxyCa().issue({"front-proxy-client"});
  writeFile(dir.file("proxy.crt"), proxy.certPem);
  writeFile(dir.file("proxy.key"), proxy.keyPem);
  std::string url = "https://127.0.0.1:" + std::to_string(a.port()) + kPod;
  std::vector<std::string> hpa{"--url",
                               url,
                               "--cert",
                               dir.file("proxy.crt"),
                               "--key",
                               dir.file("proxy.key"),
                               "--header",
                               "X-Remote-User: system:serviceaccount:kube-system:horizontal-pod-"
                               "autoscaler",
                               "--header",
                               "X-Remote-Group: system:authenticated",
                               "--concurrency",
                               "4",
                               "--rate",
                               "200"};
  int reviewsBefore = api.tokenReviews();
  json flood;
  std::thread flooder([&] {
    flood = bench::loadgen({"--url", url, "--unique-bearer-tokens", "--expect", "401",
                            "--concurrency", "32", "--rate", "1000", "--seconds", secs},
                           dir);
  });
  std::this_thread::sleep_for(500ms);
  std::vector<std::string> args = hpa;
  args.insert(args.end(), {"--seconds", secs});
  json h = bench::loadgen(args, dir);
  flooder.join();
  int reviews = api.tokenReviews() - reviewsBefore;
  char what[160];
  std::snprintf(what, sizeof what, "%s (flood: %d req at %.0f req/s, p99 %.1f ms, %d TokenReviews)",
                ms(h["p99_ms"].get<double>()).c_str(), flood["requests"].get<int>(),
                flood["rps"].get<double>(), flood["p99_ms"].get<double>(), reviews);
  rows.push_back({"front-proxy p99 during 1,000 req/s of unknown bearer tokens", what, "<= 50 ms"});
  checks.expect(h["errors"] == 0 && h["requests"].get<int>() > 0,
                "every front-proxy request a 200");
  checks.expect(flood["errors"] == 0 && flood["requests"].get<int>() > 0,
                "every unknown token a 401");
  checks.expect(reviews >= flood["requests"].get<int>(), "one TokenReview per unknown token");
}

}  // namespace

int main(int argc, char** argv) {
  std::string secs = "5";
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--seconds") secs = argv[i + 1];
  // 5,000 connections on each side, inherited by the adapters.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur < 12000) {
    std::fprintf(stderr, "resilience-bench needs 12,000 open files (ulimit -Hn is %llu)\n",
                 static_cast<unsigned long long>(nofile.rlim_max));
    return 1;
  }
  TempDir dir;
  writeFile(dir.file("config.yaml"), kConfig);
  std::vector<Row> rows;
  Checks checks;
  try {
    slowBackend(dir, secs, rows, checks);
    idleConnections(dir, rows, checks);
    hugeAnswer(dir, rows, checks);
    tokenFlood(dir, secs, rows, checks);
  } catch (const std::exception& e) {
    std::cerr << "resilience-bench: " << e.what() << "\n";
    return 1;
  }
  std::printf("## Resilience (%u cores)\n\n| figure | measured | target |\n|---|---|---|\n",
              std::thread::hardware_concurrency());
  for (const auto& r : rows)
    std::printf("| %s | %s | %s |\n", r.figure.c_str(), r.measured.c_str(), r.target.c_str());
  return checks.failed ? 1 : 0;
}
