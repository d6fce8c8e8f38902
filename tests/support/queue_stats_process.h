// queue-stats as a child process for tests: a clean AWS environment (no
// credentials or config of the machine), /metrics and gRPC on loopback
// ports it picks, and helpers to read its metrics.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_support.h"

namespace testsupport {

class QueueStatsProcess {
 public:
  // `env`: extra VAR=value; `args`: extra flags. gRPC listens on
  // `grpcPort` (0: one it picks). `program`: another binary than the
  // build's (an installed one).
  QueueStatsProcess(const TempDir& dir, const std::string& config,
                    const std::vector<std::string>& env = {},
                    const std::string& name = "queue-stats",
                    const std::vector<std::string>& args = {}, int grpcPort = 0,
                    const std::string& program = "");
  int metricsPort() const { return metricsPort_; }
  int grpcPort() const { return grpcPort_; }
  std::string grpcAddress() const { return "127.0.0.1:" + std::to_string(grpcPort_); }
  std::string metrics() const;
  int status(const std::string& path) const;
  ChildProcess& process() { return *proc_; }
  // Waits until a scrape satisfies `pred`; returns the last scrape.
  std::string waitFor(const std::function<bool(const std::string&)>& pred,
                      std::chrono::seconds t = std::chrono::seconds(20)) const;

 private:
  HttpsResult get(const std::string& path) const;
  std::unique_ptr<ChildProcess> proc_;
  int metricsPort_ = 0;
  int grpcPort_ = 0;
};

// A series' value in a scrape, or nullopt when the series is absent.
std::optional<double> seriesValue(const std::string& scrape, const std::string& series);

}  // namespace testsupport
