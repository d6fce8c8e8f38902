#include "test_support.h"

#include "apiservice/tls_credentials.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <utility>  // Boost 1.74 asio needs it before <boost/asio.hpp>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace testsupport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string binary(const char* name) {
  std::string n = name;
  // The sanitizer phase of scripts/test.sh runs the integration suites
  // against ASan/UBSan builds of the two servers.
  if (n == "metrics-adapter") {
    const char* other = std::getenv("MA_ADAPTER_BIN");
    return other && *other ? other : MA_ADAPTER_BIN;
  }
  if (n == "demo-exporter") return MA_EXPORTER_BIN;
  if (n == "queue-stats") {
    const char* other = std::getenv("MA_QUEUE_STATS_BIN");
    return other && *other ? other : MA_QUEUE_STATS_BIN;
  }
  if (n == "chart-render") return MA_CHART_RENDER_BIN;
  throw std::runtime_error("unknown binary " + n);
}

std::string dataDir() { return MA_TEST_DATA_DIR; }
std::string sourceDir() { return MA_SOURCE_DIR; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ma-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void writeFile(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << content;
  }
  std::filesystem::rename(tmp, path);  // atomic, as a ConfigMap update
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& logFile,
                           bool pipeStdin)
    : logFile_(logFile) {
  int pipeFds[2] = {-1, -1};
  if (pipeStdin) ::signal(SIGPIPE, SIG_IGN);  // a dead child must fail the test, not kill it
  if (pipeStdin && pipe(pipeFds) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    if (pipeStdin) {
      dup2(pipeFds[0], 0);
      close(pipeFds[1]);
    } else {
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
    }
    setpgid(0, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (pipeStdin) {
    close(pipeFds[0]);
    stdin_ = pipeFds[1];
  }
}

void ChildProcess::writeLine(const std::string& line) {
  std::string l = line + "\n";
  if (stdin_ < 0 || ::write(stdin_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
    throw std::runtime_error("cannot write to the child's stdin");
}

ChildProcess::~ChildProcess() {
  if (stdin_ >= 0) close(stdin_);
  if (running()) {
    ::kill(pid_, SIGTERM);
    if (waitExit(std::chrono::seconds(5)) == -1) {
      ::kill(pid_, SIGKILL);
      waitExit(std::chrono::seconds(5));
    }
  }
}

bool ChildProcess::running() {
  if (exited_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = st;
    return false;
  }
  return true;
}

bool ChildProcess::waitForLog(const std::string& text, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return log().find(text) != std::string::npos;
}

void ChildProcess::signal(int sig) const { ::kill(pid_, sig); }

int ChildProcess::waitExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

int64_t unixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int freePort() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

namespace {
HttpsResult plainGet(int port, const std::string& target) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::content_type])};
}
}  // namespace

PrometheusServer::PrometheusServer(const std::string& seriesFile, bool tls) : tls_(tls) {
  std::string history = dir_.file("history.om");
  ChildProcess writer({binary("demo-exporter"), "--series", seriesFile, "--write-history", history},
                      dir_.file("history.log"));
  if (writer.waitExit(std::chrono::seconds(30)) != 0)
    throw std::runtime_error("writing history failed");
  std::string data = dir_.file("data");
  ChildProcess promtool({"promtool", "tsdb", "create-blocks-from", "openmetrics", history, data},
                        dir_.file("promtool.log"));
  if (promtool.waitExit(std::chrono::seconds(60)) != 0) {
    throw std::runtime_error("promtool failed: " + readFile(dir_.file("promtool.log")));
  }
  std::string portFile = dir_.file("exporter.port");
  exporter_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{binary("demo-exporter"), "--listen", "127.0.0.1:0", "--series",
                               seriesFile, "--port-file", portFile},
      dir_.file("exporter.log"));
  for (int i = 0; i < 500 && !std::filesystem::exists(portFile); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::string exporterPort = readFile(portFile);
  while (!exporterPort.empty() && exporterPort.back() == '\n') exporterPort.pop_back();
  writeFile(dir_.file("prometheus.yml"),
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n- job_name: test\n  honor_labels: true\n  static_configs: [{targets: "
            "['127.0.0.1:" +
                exporterPort +
                "']}]\n"
                // Scraped series must be the very series the history holds.
                "  metric_relabel_configs: [{action: labeldrop, regex: 'job|instance'}]\n");
  std::vector<std::string> extra;
  if (tls) {
    auto [cert, key] = apiservice::TlsCredentials::ensureSelfSigned(dir_.path() / "tls",
                                                                    {"127.0.0.1", "localhost"});
    writeFile(dir_.file("web.yml"),
              "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key + "\n");
    extra.push_back("--web.config.file=" + dir_.file("web.yml"));
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = freePort();
    std::vector<std::string> argv{
        "prometheus", "--config.file=" + dir_.file("prometheus.yml"), "--storage.tsdb.path=" + data,
        "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    prometheus_ = std::make_unique<ChildProcess>(argv, dir_.file("prometheus.log"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && prometheus_->running()) {
      try {
        // Ready once a scrape has landed on top of the backfilled history.
        auto r = tls ? httpsGet(port_, "/api/v1/query?query=up")
                     : plainGet(port_, "/api/v1/query?query=up");
        if (r.status == 200 && r.body.find("\"1\"]") != std::string::npos) return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  throw std::runtime_error("Prometheus did not start: " + readFile(dir_.file("prometheus.log")));
}

struct FakeBackend::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::mutex mu;
  Handler handler;
  std::vector<FakeRequest> requests;
  std::thread acceptThread;
  std::vector<std::thread> workers;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::atomic<bool> stopped{false};
};

FakeBackend::FakeBackend(Handler handler) : impl_(std::make_shared<Impl>()) {
  impl_->handler = std::move(handler);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->acceptThread = std::thread([impl = impl_] {
    while (!impl->stopped) {
      auto sock = std::make_shared<tcp::socket>(impl->ioc);
      boost::system::error_code ec;
      impl->acceptor.accept(*sock, ec);
      if (ec) return;
      std::lock_guard<std::mutex> lock(impl->mu);
      impl->sockets.push_back(sock);
      impl->workers.emplace_back([impl, sock] {
        beast::flat_buffer buf;
        while (!impl->stopped) {
          http::request<http::string_body> req;
          boost::system::error_code e;
          http::read(*sock, buf, req, e);
          if (e) return;
          FakeRequest fr{
              std::string(req.method_string()), std::string(req.target()), {}, req.body()};
          for (const auto& f : req) {
            std::string n(f.name_string());
            for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            fr.headers[n] = std::string(f.value());
          }
          Handler h;
          {
            std::lock_guard<std::mutex> lock(impl->mu);
            impl->requests.push_back(fr);
            h = impl->handler;
          }
          FakeResponse out = h(fr);
          if (out.delay.count()) std::this_thread::sleep_for(out.delay);
          http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
          res.set(http::field::content_type, "application/json");
          res.body() = out.body;
          res.keep_alive(true);
          res.prepare_payload();
          http::write(*sock, res, e);
          if (e) return;
        }
      });
    }
  });
}

FakeBackend::~FakeBackend() { stop(); }

void FakeBackend::stop() {
  if (impl_->stopped.exchange(true)) return;
  boost::system::error_code ec;
  // shutdown(2) wakes a thread blocked in accept(); close() alone does not.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
  }
  if (impl_->acceptThread.joinable()) impl_->acceptThread.join();
  for (auto& w : impl_->workers) w.join();
  impl_->acceptor.close(ec);
}

void FakeBackend::setHandler(Handler h) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->handler = std::move(h);
}

size_t FakeBackend::connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->sockets.size();
}

std::vector<FakeRequest> FakeBackend::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

HttpsResult httpsGet(int port, const std::string& target, const std::string& method) {
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(s).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  s.handshake(asio::ssl::stream_base::client);
  http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(64 << 20);
  if (method == "HEAD") p.skip(true);
  http::read(s, buf, p);
  auto& res = p.get();
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::content_type])};
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

AdapterProcess::AdapterProcess(const std::vector<std::string>& args, const TempDir& dir,
                               const std::string& name, const std::string& program) {
  std::vector<std::string> argv{program.empty() ? binary("metrics-adapter") : program};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--secure-port=0");
  argv.push_back("--cert-dir=" + dir.file(name + "-certs"));
  proc_ = std::make_unique<ChildProcess>(argv, dir.file(name + ".log"));
  if (!proc_->waitForLog("serving custom.metrics", std::chrono::seconds(30))) {
    throw std::runtime_error("metrics-adapter did not start: " + proc_->log());
  }
  std::smatch m;
  std::string log = proc_->log();
  log = log.substr(log.find("serving custom.metrics"));  // other lines name other addresses
  if (!std::regex_search(log, m, std::regex("address(=|\":\")[^ \"]*:([0-9]+)"))) {
    throw std::runtime_error("no address in log: " + log);
  }
  port_ = std::stoi(m[2]);
}

bool AdapterProcess::waitReady(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (httpsGet(port_, "/readyz").status == 200) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace testsupport
