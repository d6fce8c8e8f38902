// The real peers of queue-stats' tests: librdkafka's mock cluster in a
// helper process, and the SQS emulator behind a SigV4-verifying proxy
// (Node.js, tests/sqs).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"

namespace testsupport {

class KafkaMock {
 public:
  explicit KafkaMock(const TempDir& dir, int brokers = 3);
  const std::string& bootstrap() const { return bootstrap_; }
  // Runs a helper command (see tests/kafka/kafka_mock_cluster.cc); throws
  // with the helper's message when it fails.
  void cmd(const std::string& line);
  // Output lines the helper printed for the last command ("wm 2 7").
  std::string lastOutput() const { return last_; }

 private:
  std::unique_ptr<ChildProcess> proc_;
  std::string bootstrap_;
  int n_ = 0;
  std::string last_;
};

class SqsPeer {
 public:
  // `tls`: the proxy serves HTTPS with a certificate from a test CA whose
  // file caFile() names.
  SqsPeer(const TempDir& dir, bool tls);
  std::string endpoint() const;  // the verifying proxy
  std::string caFile() const { return caFile_; }
  int emulatorPort() const { return emulator_; }
  nlohmann::json control(const nlohmann::json& cmd);

 private:
  std::unique_ptr<ChildProcess> proc_;
  bool tls_;
  int proxy_ = 0, control_ = 0, emulator_ = 0;
  std::string caFile_;
};

// A plain HTTP request (queue-stats' /metrics, the peers' control ports).
HttpsResult httpRequestPlain(int port, const std::string& method, const std::string& target,
                             const std::string& body = "");

}  // namespace testsupport
