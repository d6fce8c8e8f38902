#include "queue_peers.h"

#include <utility>  // Boost 1.74 asio needs it first

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <regex>
#include <thread>

#include "test_pki.h"

namespace testsupport {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

HttpsResult httpRequestPlain(int port, const std::string& method, const std::string& target,
                             const std::string& body) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.prepare_payload();
  http::write(s, req);
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(64 << 20);
  http::read(s, buf, p);
  auto& res = p.get();
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::content_type])};
}

KafkaMock::KafkaMock(const TempDir& dir, int brokers) {
  proc_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{MA_KAFKA_MOCK_BIN, std::to_string(brokers)},
      dir.file("kafka-mock.log"), /*pipeStdin=*/true);
  if (!proc_->waitForLog("bootstrap ", std::chrono::seconds(30)))
    throw std::runtime_error("the Kafka mock cluster did not start: " + proc_->log());
  std::smatch m;
  std::string log = proc_->log();
  std::regex_search(log, m, std::regex("bootstrap ([^\\n]+)"));
  bootstrap_ = m[1];
}

void KafkaMock::cmd(const std::string& line) {
  ++n_;
  size_t before = proc_->log().size();
  proc_->writeLine(line);
  std::string ok = "ok " + std::to_string(n_) + "\n", err = "err " + std::to_string(n_) + " ";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = proc_->log();
    std::string fresh = log.substr(std::min(before, log.size()));
    if (auto p = fresh.find(ok); p != std::string::npos) {
      last_ = fresh.substr(0, p);
      return;
    }
    if (auto p = fresh.find(err); p != std::string::npos)
      throw std::runtime_error("kafka mock: " + line + ": " + fresh.substr(p + err.size()));
    if (!proc_->running()) throw std::runtime_error("kafka mock exited: " + log);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("kafka mock: no answer to " + line);
}

SqsPeer::SqsPeer(const TempDir& dir, bool tls) : tls_(tls) {
  std::vector<std::string> argv{"node", std::string(MA_SQS_PEER_DIR) + "/sqs_peer.mjs",
                                "--port-file", dir.file("sqs-peer.ports")};
  if (tls) {
    static const TestCa ca("sqs-test-ca");
    CertOptions o("localhost");
    o.serverAuth = true;
    o.clientAuth = false;
    o.dnsNames = {"localhost"};
    o.ipAddresses = {"127.0.0.1"};
    KeyPair kp = ca.issue(o);
    caFile_ = dir.file("sqs-ca.crt");
    writeFile(caFile_, ca.pem());
    writeFile(dir.file("sqs.crt"), kp.certPem);
    writeFile(dir.file("sqs.key"), kp.keyPem);
    argv.insert(argv.end(), {"--tls-cert", dir.file("sqs.crt"), "--tls-key", dir.file("sqs.key")});
  }
  if (!std::filesystem::exists(std::string(MA_SQS_PEER_DIR) + "/node_modules/fauxqs"))
    throw std::runtime_error(std::string("tests/sqs/node_modules is missing: run `npm ci` in ") +
                             MA_SQS_PEER_DIR + " (scripts/test.sh does)");
  proc_ = std::make_unique<ChildProcess>(argv, dir.file("sqs-peer.log"));
  for (int i = 0; i < 300 && !std::filesystem::exists(dir.file("sqs-peer.ports")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!std::filesystem::exists(dir.file("sqs-peer.ports")))
    throw std::runtime_error("the SQS peer did not start: " + proc_->log());
  auto ports = nlohmann::json::parse(readFile(dir.file("sqs-peer.ports")));
  proxy_ = ports["proxy"];
  control_ = ports["control"];
  emulator_ = ports["emulator"];
}

std::string SqsPeer::endpoint() const {
  return std::string(tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(proxy_);
}

nlohmann::json SqsPeer::control(const nlohmann::json& cmd) {
  auto r = httpRequestPlain(control_, "POST", "/", cmd.dump());
  auto j = nlohmann::json::parse(r.body);
  if (r.status != 200) throw std::runtime_error("sqs peer: " + cmd.dump() + ": " + r.body);
  return j;
}

}  // namespace testsupport
