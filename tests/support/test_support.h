// Helpers for tests that start real peers: child processes, a temporary
// directory, a real Prometheus fed with known data, an in-process fake
// backend for failure cases, and an HTTPS client.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace testsupport {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void writeFile(const std::string& path, const std::string& content);
std::string readFile(const std::string& path);

// A child process whose stdout and stderr go to a log file; killed when
// destroyed.
class ChildProcess {
 public:
  // With `pipeStdin`, writeLine() feeds the child's standard input.
  ChildProcess(const std::vector<std::string>& argv, const std::string& logFile,
               bool pipeStdin = false);
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  std::string log() const { return readFile(logFile_); }
  // Waits until the log contains `text`; returns false on timeout or exit.
  bool waitForLog(const std::string& text, std::chrono::milliseconds timeout) const;
  void signal(int sig) const;
  // Waits for exit; returns the exit code, or -1 on timeout.
  int waitExit(std::chrono::milliseconds timeout);
  bool running();
  void writeLine(const std::string& line);

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::string logFile_;
  bool exited_ = false;
  int status_ = 0;
};

// A free TCP port on 127.0.0.1 (bound and released).
int freePort();

// Now, as Unix milliseconds (message timestamps, Kubernetes times).
int64_t unixMillis();

// A real Prometheus with the series of `seriesFile` (demo-exporter format):
// ten minutes of history backfilled with promtool, then scraped every second.
// With `tls`, Prometheus serves HTTPS with a self-signed certificate whose
// file caFile() names.
class PrometheusServer {
 public:
  explicit PrometheusServer(const std::string& seriesFile, bool tls = false);
  std::string url() const {
    return (tls_ ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port_);
  }
  std::string caFile() const { return dir_.file("tls/apiserver.crt"); }

 private:
  bool tls_ = false;
  TempDir dir_;
  std::unique_ptr<ChildProcess> exporter_;
  std::unique_ptr<ChildProcess> prometheus_;
  int port_ = 0;
};

// An in-process HTTP server for backend failure cases.
struct FakeRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
};
struct FakeResponse {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};
};
class FakeBackend {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  explicit FakeBackend(Handler handler);
  ~FakeBackend();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void setHandler(Handler h);
  std::vector<FakeRequest> requests() const;
  size_t connections() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  int port_ = 0;
};

struct HttpsResult {
  int status = 0;
  std::string body;
  std::string contentType;
};
// GET over TLS (certificate not verified: tests use self-signed ones).
HttpsResult httpsGet(int port, const std::string& target, const std::string& method = "GET");

// Starts metrics-adapter with `args` plus --secure-port 0 and a cert dir,
// and returns its port once it serves.
class AdapterProcess {
 public:
  // `program`: another metrics-adapter binary than the build's (an installed one).
  AdapterProcess(const std::vector<std::string>& args, const TempDir& dir,
                 const std::string& name = "adapter", const std::string& program = "");
  int port() const { return port_; }
  ChildProcess& process() { return *proc_; }
  // Waits until /readyz answers 200.
  bool waitReady(std::chrono::milliseconds timeout) const;

 private:
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
};

// Polls `pred` every 50 ms until it holds or `timeout` passes (watch
// events, reloads and refreshes take a moment); returns its last answer.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

std::string binary(const char* name);  // path of a built binary
std::string dataDir();                 // tests/data
std::string sourceDir();               // the repository

}  // namespace testsupport
