// Amazon SQS over the AWS JSON 1.0 protocol, signed with SigV4:
// GetQueueUrl, ListQueues (with prefix and pagination) and
// GetQueueAttributes. Throttling and 5xx answers are retried with
// exponential backoff and full jitter; an answer rejecting the credentials
// as expired or invalid refreshes them and retries once.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "queue_stats/aws_credentials.h"
#include "queue_stats/http_transport.h"

namespace queue_stats {

// An SQS error answer: its code ("QueueDoesNotExist", "RequestThrottled"),
// HTTP status and message; or a transport failure (status 0).
class SqsError : public std::runtime_error {
 public:
  SqsError(std::string code, int status, const std::string& message)
      : std::runtime_error(code + (message.empty() ? "" : ": " + message) + " (HTTP " +
                           std::to_string(status) + ")"),
        code_(std::move(code)),
        status_(status) {}
  const std::string& code() const { return code_; }
  int status() const { return status_; }
  bool retryable() const;

 private:
  std::string code_;
  int status_;
};

struct QueueDepth {
  int64_t visible = 0;     // ApproximateNumberOfMessages
  int64_t notVisible = 0;  // ApproximateNumberOfMessagesNotVisible (in flight)
  int64_t delayed = 0;     // ApproximateNumberOfMessagesDelayed
};

// The seam for the collector.
class SqsApi {
 public:
  virtual ~SqsApi() = default;
  virtual std::string getQueueUrl(const std::string& name) = 0;
  virtual std::vector<std::string> listQueues(const std::string& prefix) = 0;  // every page
  virtual QueueDepth getQueueAttributes(const std::string& queueUrl) = 0;
};

struct RetryPolicy {
  int maxAttempts = 4;
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{5000};
};

class HttpSqsClient final : public SqsApi {
 public:
  // `endpoint` empty: https://sqs.{region}.amazonaws.com. `timeout` bounds
  // each HTTP request (every attempt has its own).
  HttpSqsClient(HttpTransport& http, CredentialsProvider& creds, std::string region,
                std::string endpoint, RetryPolicy retry = {}, std::function<int64_t()> nowUnix = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::string getQueueUrl(const std::string& name) override;
  std::vector<std::string> listQueues(const std::string& prefix) override;
  QueueDepth getQueueAttributes(const std::string& queueUrl) override;

 private:
  std::string call(const std::string& action, const std::string& jsonBody);
  std::string callWithBackoff(const std::string& action, const std::string& jsonBody,
                              AwsCredentials& used);
  AwsCredentials credentials();
  std::optional<SqsError> sendOnce(const std::string& action, const std::string& jsonBody,
                                   const AwsCredentials& c, std::string& answer);
  HttpTransport& http_;
  CredentialsProvider& creds_;
  std::string region_;
  std::string endpoint_;
  std::string host_;
  RetryPolicy retry_;
  std::chrono::milliseconds timeout_;
  std::function<int64_t()> now_;
  std::mt19937 rng_;
};

// The credentials were refused as expired or unknown (ExpiredToken,
// InvalidClientTokenId, ...): fresh ones may be accepted.
bool rejectsCredentials(const SqsError& e);
// Reads an SQS JSON error body ({"__type": "com.amazonaws.sqs#X", "message": ...}).
SqsError parseSqsError(int status, const std::string& body);
// The three counts of a GetQueueAttributes answer; throws SqsError.
QueueDepth parseQueueAttributes(const std::string& body);

}  // namespace queue_stats
