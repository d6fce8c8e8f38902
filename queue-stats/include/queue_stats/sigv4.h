// AWS Signature Version 4 (header signing): the canonical request, the
// string to sign and the signature, each exposed so the AWS test suite can
// check them one by one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace queue_stats {

struct AwsCredentials {
  std::string accessKeyId;
  std::string secretAccessKey;
  std::string sessionToken;   // temporary credentials (STS, IRSA, containers, IMDS)
  int64_t expiresAtUnix = 0;  // 0: does not expire
  std::string source;         // "environment", "profile dev", "web identity", ... for logs
};

struct SignableRequest {
  std::string method = "POST";
  std::string path = "/";                                    // as sent, without the query
  std::string query;                                         // raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // must include Host
  std::string body;
};

struct SigningOptions {
  std::string region;
  std::string service;
  int64_t timeUnix = 0;
  bool normalizePath = true;      // remove dot segments and repeated slashes
  bool signBody = false;          // add and sign x-amz-content-sha256
  bool omitSessionToken = false;  // add X-Amz-Security-Token after signing
};

struct Signature {
  std::string canonicalRequest;
  std::string stringToSign;
  std::string signature;  // hex
  // Headers to add to the request: X-Amz-Date, X-Amz-Security-Token,
  // x-amz-content-sha256 (when signing the body), Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
};

Signature signRequest(const SignableRequest& req, const AwsCredentials& creds,
                      const SigningOptions& opts);

// Helpers shared with the SQS and STS clients.
std::string sha256Hex(const std::string& data);
std::string amzDate(int64_t unixSeconds);  // 20150830T123600Z

}  // namespace queue_stats
