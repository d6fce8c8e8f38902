#include "queue_stats/sqs_client.h"

#include <nlohmann/json.hpp>
#include <thread>

namespace queue_stats {

using nlohmann::json;

bool SqsError::retryable() const {
  if (status_ == 0 || status_ >= 500) return true;
  static const char* throttled[] = {
      "ThrottlingException",      "RequestThrottled",   "Throttling",    "RequestLimitExceeded",
      "TooManyRequestsException", "ServiceUnavailable", "InternalError", "InternalFailure"};
  for (const char* t : throttled)
    if (code_ == t) return true;
  return false;
}

bool rejectsCredentials(const SqsError& e) {
  // Query protocol codes, their JSON-protocol forms, and the JSON
  // protocol's own name for an unknown access key.
  static const char* rejected[] = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                                   "UnrecognizedClientException"};
  for (const char* r : rejected)
    if (e.code() == r) return true;
  return false;
}

SqsError parseSqsError(int status, const std::string& body) {
  json j = json::parse(body, nullptr, false);
  std::string type, message;
  if (j.is_object()) {
    if (auto t = j.find("__type"); t != j.end() && t->is_string()) type = t->get<std::string>();
    for (const char* k : {"message", "Message"})
      if (auto m = j.find(k); m != j.end() && m->is_string()) message = m->get<std::string>();
  }
  // "com.amazonaws.sqs#QueueDoesNotExist" -> "QueueDoesNotExist"
  if (auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  if (type.empty()) type = status == 403 ? "AccessDenied" : "HTTP" + std::to_string(status);
  return SqsError(type, status, message);
}

QueueDepth parseQueueAttributes(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("Attributes") || !j["Attributes"].is_object())
    throw SqsError("MalformedResponse", 200, "GetQueueAttributes answered without Attributes");
  const json& a = j["Attributes"];
  auto count = [&](const char* name) -> int64_t {
    auto it = a.find(name);
    if (it == a.end() || !it->is_string())
      throw SqsError("MalformedResponse", 200,
                     std::string("GetQueueAttributes answered without ") + name);
    const std::string& s = it->get_ref<const std::string&>();
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
      throw SqsError("MalformedResponse", 200,
                     std::string(name) + " is not a count: \"" + s + "\"");
    return std::stoll(s);
  };
  return {count("ApproximateNumberOfMessages"), count("ApproximateNumberOfMessagesNotVisible"),
          count("ApproximateNumberOfMessagesDelayed")};
}

HttpSqsClient::HttpSqsClient(HttpTransport& http, CredentialsProvider& creds, std::string region,
                             std::string endpoint, RetryPolicy retry,
                             std::function<int64_t()> nowUnix, std::chrono::milliseconds timeout)
    : http_(http),
      creds_(creds),
      region_(std::move(region)),
      endpoint_(endpoint.empty() ? "https://sqs." + region_ + ".amazonaws.com"
                                 : std::move(endpoint)),
      retry_(retry),
      timeout_(timeout),
      now_(nowUnix ? std::move(nowUnix) : AwsEnvironment::process().nowUnix),
      rng_(std::random_device{}()) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  host_ = endpoint_.substr(endpoint_.find("//") + 2);
  host_ = host_.substr(0, host_.find('/'));
}

AwsCredentials HttpSqsClient::credentials() {
  try {
    return creds_.get();
  } catch (const CredentialsError& e) {
    throw SqsError("CredentialsError", 0, e.what());
  }
}

std::optional<SqsError> HttpSqsClient::sendOnce(const std::string& action,
                                                const std::string& jsonBody,
                                                const AwsCredentials& c, std::string& answer) {
  SignableRequest sreq{"POST",
                       "/",
                       "",
                       {{"Host", host_},
                        {"Content-Type", "application/x-amz-json-1.0"},
                        {"X-Amz-Target", "AmazonSQS." + action}},
                       jsonBody};
  Signature sig = signRequest(sreq, c, {region_, "sqs", now_()});
  HttpRequestSpec req{"POST", endpoint_ + "/", sreq.headers, jsonBody, timeout_};
  for (auto& h : sig.headers) req.headers.push_back(std::move(h));
  try {
    HttpReply r = http_.send(req);
    if (r.status != 200) return parseSqsError(r.status, r.body);
    answer = std::move(r.body);
    return std::nullopt;
  } catch (const TransportError& e) {
    return SqsError("TransportError", 0, e.what());
  }
}

std::string HttpSqsClient::callWithBackoff(const std::string& action, const std::string& jsonBody,
                                           AwsCredentials& used) {
  for (int attempt = 1;; ++attempt) {
    used = credentials();
    std::string answer;
    std::optional<SqsError> err = sendOnce(action, jsonBody, used, answer);
    if (!err) return answer;
    if (!err->retryable() || attempt >= retry_.maxAttempts) throw *err;
    // Full jitter: a random wait up to base * 2^attempt, capped.
    auto ceiling =
        std::min<int64_t>(retry_.cap.count(), retry_.base.count() << std::min(attempt, 16));
    std::uniform_int_distribution<int64_t> wait(0, ceiling);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait(rng_)));
  }
}

std::string HttpSqsClient::call(const std::string& action, const std::string& jsonBody) {
  AwsCredentials used;
  try {
    return callWithBackoff(action, jsonBody, used);
  } catch (const SqsError& e) {
    if (!rejectsCredentials(e)) throw;
  }
  // Temporary credentials can expire or be revoked before their stated
  // expiry: refresh once; a second rejection stands.
  creds_.invalidate(used);
  return callWithBackoff(action, jsonBody, used);
}

std::string HttpSqsClient::getQueueUrl(const std::string& name) {
  json j = json::parse(call("GetQueueUrl", json{{"QueueName", name}}.dump()), nullptr, false);
  if (!j.is_object() || !j.contains("QueueUrl") || !j["QueueUrl"].is_string())
    throw SqsError("MalformedResponse", 200, "GetQueueUrl answered without QueueUrl");
  return j["QueueUrl"].get<std::string>();
}

std::vector<std::string> HttpSqsClient::listQueues(const std::string& prefix) {
  std::vector<std::string> out;
  std::string next;
  for (int page = 0; page < 1000; ++page) {
    json body = {{"QueueNamePrefix", prefix}, {"MaxResults", 1000}};
    if (!next.empty()) body["NextToken"] = next;
    json j = json::parse(call("ListQueues", body.dump()), nullptr, false);
    if (!j.is_object())
      throw SqsError("MalformedResponse", 200, "ListQueues answered malformed JSON");
    if (auto urls = j.find("QueueUrls"); urls != j.end() && urls->is_array())
      for (const auto& u : *urls)
        if (u.is_string()) out.push_back(u.get<std::string>());
    auto t = j.find("NextToken");
    if (t == j.end() || !t->is_string() || t->get<std::string>().empty()) return out;
    next = t->get<std::string>();
  }
  throw SqsError("TooManyPages", 200,
                 "ListQueues returned more than 1000 pages for prefix " + prefix);
}

QueueDepth HttpSqsClient::getQueueAttributes(const std::string& queueUrl) {
  json body = {{"QueueUrl", queueUrl},
               {"AttributeNames",
                {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"}}};
  return parseQueueAttributes(call("GetQueueAttributes", body.dump()));
}

}  // namespace queue_stats
