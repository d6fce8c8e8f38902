// The signer against the AWS SigV4 test vectors (read from
// ../shared/sigv4-test-suite at test time; never copied here).
#include "queue_stats/sigv4.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "queue_stats/aws_credentials.h"

using namespace queue_stats;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// request.txt: "METHOD PATH?QUERY HTTP/1.1", headers (folded lines
// continue the previous one), a blank line, the body.
SignableRequest parseRequest(const std::string& text) {
  SignableRequest r;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  auto sp1 = line.find(' '), sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  while (std::getline(in, line)) {
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      r.headers.back().second += "\n" + line;
      continue;
    }
    auto colon = line.find(':');
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::stringstream rest;
  rest << in.rdbuf();
  r.body = rest.str();
  return r;
}

}  // namespace

TEST(SigV4, AwsTestSuite) {
  fs::path suite = MA_SIGV4_SUITE_DIR;
  if (!fs::exists(suite))
    GTEST_SKIP() << "the AWS SigV4 test suite is not at " << suite << " (../shared is absent)";
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(suite)) {
    if (!fs::exists(dir.path() / "header-signature.txt")) continue;
    SCOPED_TRACE(dir.path().filename().string());
    auto ctx = nlohmann::json::parse(read(dir.path() / "context.json"));
    AwsCredentials creds{ctx["credentials"]["access_key_id"],
                         ctx["credentials"]["secret_access_key"],
                         ctx["credentials"].value("token", ""), 0, "test"};
    SigningOptions opts;
    opts.region = ctx["region"];
    opts.service = ctx["service"];
    opts.timeUnix = *parseIsoTime(ctx["timestamp"].get<std::string>());
    opts.normalizePath = ctx.value("normalize", true);
    opts.signBody = ctx.value("sign_body", false);
    opts.omitSessionToken = ctx.value("omit_session_token", false);
    Signature sig = signRequest(parseRequest(read(dir.path() / "request.txt")), creds, opts);
    EXPECT_EQ(sig.canonicalRequest, read(dir.path() / "header-canonical-request.txt"));
    EXPECT_EQ(sig.stringToSign, read(dir.path() / "header-string-to-sign.txt"));
    EXPECT_EQ(sig.signature, read(dir.path() / "header-signature.txt"));
    ++checked;
  }
  EXPECT_GE(checked, 30) << "fewer vectors than the suite has";
}

TEST(SigV4, SqsRequestShape) {
  SignableRequest r{"POST",
                    "/",
                    "",
                    {{"Host", "sqs.us-east-1.amazonaws.com"},
                     {"Content-Type", "application/x-amz-json-1.0"},
                     {"X-Amz-Target", "AmazonSQS.GetQueueAttributes"}},
                    R"({"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123/orders"})"};
  Signature s = signRequest(r, {"AKID", "secret", "tok", 0, "t"}, {"us-east-1", "sqs", 1700000000});
  ASSERT_EQ(s.headers.size(), 3u);
  EXPECT_EQ(s.headers[0], (std::pair<std::string, std::string>{"X-Amz-Date", "20231114T221320Z"}));
  EXPECT_EQ(s.headers[1].first, "X-Amz-Security-Token");
  EXPECT_NE(s.headers[2].second.find(
                "Credential=AKID/20231114/us-east-1/sqs/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                "Signature="),
            std::string::npos)
      << s.headers[2].second;
}
