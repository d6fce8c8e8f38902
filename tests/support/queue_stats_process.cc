#include "queue_stats_process.h"

#include <regex>
#include <stdexcept>
#include <thread>

#include "queue_peers.h"

namespace testsupport {

namespace {
int portAfter(const std::string& log, const std::string& line) {
  std::smatch m;
  std::regex re(line + "[^\n]*address=127.0.0.1:([0-9]+)");
  if (!std::regex_search(log, m, re))
    throw std::runtime_error("no address logged for \"" + line + "\": " + log);
  return std::stoi(m[1]);
}
}  // namespace

QueueStatsProcess::QueueStatsProcess(const TempDir& dir, const std::string& config,
                                     const std::vector<std::string>& env, const std::string& name,
                                     const std::vector<std::string>& args, int grpcPort,
                                     const std::string& program) {
  std::vector<std::string> argv{"env"};
  for (const char* v :
       {"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_REGION", "AWS_DEFAULT_REGION"}) {
    argv.push_back("-u");
    argv.push_back(v);
  }
  argv.push_back("HOME=" + dir.path().string());  // no ~/.aws of the machine
  argv.push_back("AWS_EC2_METADATA_DISABLED=true");
  argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), {program.empty() ? binary("queue-stats") : program, "--config", config,
                           "--listen", "127.0.0.1:0", "--grpc-listen",
                           "127.0.0.1:" + std::to_string(grpcPort), "--v", "1"});
  argv.insert(argv.end(), args.begin(), args.end());
  proc_ = std::make_unique<ChildProcess>(argv, dir.file(name + ".log"));
  if (!proc_->waitForLog("serving metrics", std::chrono::seconds(30)))
    throw std::runtime_error("queue-stats did not start: " + proc_->log());
  metricsPort_ = portAfter(proc_->log(), "serving metrics");
  grpcPort_ = portAfter(proc_->log(), "serving gRPC");
}

HttpsResult QueueStatsProcess::get(const std::string& path) const {
  try {
    return httpRequestPlain(metricsPort_, "GET", path);
  } catch (const std::exception& e) {
    // Say whether queue-stats is gone (a crash) or just not answering.
    throw std::runtime_error("GET " + path + " from queue-stats: " + e.what() +
                             (proc_->running() ? " (still running)" : " (it exited)") +
                             "; its log:\n" + proc_->log());
  }
}

std::string QueueStatsProcess::metrics() const { return get("/metrics").body; }

int QueueStatsProcess::status(const std::string& path) const { return get(path).status; }

std::string QueueStatsProcess::waitFor(const std::function<bool(const std::string&)>& pred,
                                       std::chrono::seconds t) const {
  auto deadline = std::chrono::steady_clock::now() + t;
  std::string m;
  while (std::chrono::steady_clock::now() < deadline) {
    m = metrics();
    if (pred(m)) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return m;
}

std::optional<double> seriesValue(const std::string& text, const std::string& series) {
  // At the start of a line: "# HELP name ..." is not the series.
  const std::string lines = "\n" + text, needle = "\n" + series + " ";
  auto p = lines.find(needle);
  if (p == std::string::npos) return std::nullopt;
  return std::stod(lines.substr(p + needle.size()));
}

}  // namespace testsupport
