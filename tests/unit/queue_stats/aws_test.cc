// The credential chain and the SQS client over scripted transports.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "queue_stats/aws_credentials.h"
#include "queue_stats/sqs_client.h"

using namespace queue_stats;

namespace {

class ScriptedHttp : public HttpTransport {
 public:
  std::vector<HttpRequestSpec> seen;
  std::function<HttpReply(const HttpRequestSpec&)> answer;
  HttpReply send(const HttpRequestSpec& r) override {
    seen.push_back(r);
    return answer(r);
  }
};

struct FakeEnv {
  std::map<std::string, std::string> vars, files;
  int64_t now = 1700000000;
  AwsEnvironment env() {
    AwsEnvironment e;
    e.getenv = [this](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      return it == vars.end() ? std::nullopt : std::optional(it->second);
    };
    e.readFile = [this](const std::string& p) -> std::optional<std::string> {
      auto it = files.find(p);
      return it == files.end() ? std::nullopt : std::optional(it->second);
    };
    e.nowUnix = [this] { return now; };
    return e;
  }
};

std::string stsAnswer(const std::string& action, const std::string& key,
                      const std::string& expiry) {
  return "<" + action + "Response><" + action + "Result><Credentials><AccessKeyId>" + key +
         "</AccessKeyId><SecretAccessKey>s&amp;cret</SecretAccessKey><SessionToken>tok</"
         "SessionToken><Expiration>" +
         expiry + "</Expiration></Credentials></" + action + "Result></" + action + "Response>";
}

std::string header(const HttpRequestSpec& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST(Credentials, EnvironmentThenProfiles) {
  FakeEnv fe;
  ScriptedHttp http;
  http.answer = [](const HttpRequestSpec&) -> HttpReply { throw TransportError("no network"); };
  fe.vars = {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"HOME", "/home/u"}};
  EXPECT_EQ(DefaultCredentialsChain(fe.env(), http, "us-east-1").get().accessKeyId, "AKIDENV");

  fe.vars = {{"HOME", "/home/u"}, {"AWS_PROFILE", "dev"}};
  fe.files["/home/u/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n"
      "[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key=y\n";
  fe.files["/home/u/.aws/config"] = "[profile dev]\nregion = eu-central-1\n";
  DefaultCredentialsChain dev(fe.env(), http, "");
  EXPECT_EQ(dev.get().accessKeyId, "AKIDDEV");
  EXPECT_EQ(dev.get().source, "profile dev");
  EXPECT_EQ(dev.profileRegion().value(), "eu-central-1");

  fe.vars["AWS_PROFILE"] = "nope";
  EXPECT_THROW(DefaultCredentialsChain(fe.env(), http, "").get(), CredentialsError);
}

TEST(Credentials, AssumedRoleFromASourceProfileIsSigned) {
  FakeEnv fe;
  fe.vars = {
      {"HOME", "/h"}, {"AWS_PROFILE", "deploy"}, {"AWS_ENDPOINT_URL_STS", "http://sts.local:1"}};
  fe.files["/h/.aws/config"] =
      "[profile deploy]\nrole_arn = arn:aws:iam::123:role/deploy\nsource_profile = base\n";
  fe.files["/h/.aws/credentials"] =
      "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = b\n";
  ScriptedHttp http;
  http.answer = [](const HttpRequestSpec&) {
    return HttpReply{200, stsAnswer("AssumeRole", "ASIAROLE", "2023-11-14T23:13:20Z")};
  };
  AwsCredentials c = DefaultCredentialsChain(fe.env(), http, "us-east-1").get();
  EXPECT_EQ(c.accessKeyId, "ASIAROLE");
  EXPECT_EQ(c.secretAccessKey, "s&cret");
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_NE(http.seen[0].body.find("Action=AssumeRole&"), std::string::npos);
  EXPECT_NE(header(http.seen[0], "Authorization").find("Credential=AKIDBASE/"), std::string::npos);
}

TEST(Credentials, WebIdentityIsRefreshedBeforeExpiry) {
  FakeEnv fe;
  fe.vars = {{"AWS_ROLE_ARN", "arn:aws:iam::123:role/irsa"},
             {"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"},
             {"AWS_ENDPOINT_URL_STS", "https://sts.local"}};
  fe.files["/var/run/token"] = "jwt-1\n";
  ScriptedHttp http;
  int n = 0;
  http.answer = [&](const HttpRequestSpec&) {
    return HttpReply{200, stsAnswer("AssumeRoleWithWebIdentity", "ASIA" + std::to_string(++n),
                                    "2023-11-14T23:13:20Z")};
  };
  DefaultCredentialsChain chain(fe.env(), http, "us-east-1");
  EXPECT_EQ(chain.get().accessKeyId, "ASIA1");
  EXPECT_EQ(http.seen.back().url, "https://sts.local/");
  EXPECT_NE(http.seen.back().body.find("WebIdentityToken=jwt-1"), std::string::npos);
  EXPECT_EQ(chain.get().accessKeyId, "ASIA1") << "cached";
  fe.now = 1700000000 + 3600 - 200;      // within the refresh margin of the expiry
  fe.files["/var/run/token"] = "jwt-2";  // rotated by the kubelet
  EXPECT_EQ(chain.get().accessKeyId, "ASIA2");
  EXPECT_NE(http.seen.back().body.find("WebIdentityToken=jwt-2"), std::string::npos);
  // STS failing: the old credentials serve until they really expire.
  http.answer = [](const HttpRequestSpec&) {
    return HttpReply{400, "<Error><Code>InvalidIdentityToken</Code></Error>"};
  };
  fe.now += 100;
  EXPECT_EQ(chain.get().accessKeyId, "ASIA2");
  fe.now += 1000;
  EXPECT_THROW(chain.get(), CredentialsError);
}

TEST(Credentials, ContainerAndInstanceMetadata) {
  FakeEnv fe;
  fe.vars = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/pod-identity/token"}};
  fe.files["/var/run/pod-identity/token"] = "pod-token\n";
  ScriptedHttp http;
  std::string json =
      R"({"AccessKeyId":"ASIAPOD","SecretAccessKey":"s","Token":"t","Expiration":"2023-11-14T23:13:20Z"})";
  http.answer = [&](const HttpRequestSpec&) { return HttpReply{200, json}; };
  EXPECT_EQ(DefaultCredentialsChain(fe.env(), http, "r").get().accessKeyId, "ASIAPOD");
  EXPECT_EQ(header(http.seen.back(), "Authorization"), "pod-token");

  fe.vars = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.local/"}};
  http.seen.clear();
  http.answer = [&](const HttpRequestSpec& r) -> HttpReply {
    if (r.method == "PUT") return {200, "imds-token"};
    if (header(r, "X-aws-ec2-metadata-token") != "imds-token") return {401, ""};
    if (r.url.back() == '/') return {200, "my-role\n"};
    return {
        200,
        R"({"Code":"Success","AccessKeyId":"ASIAEC2","SecretAccessKey":"s","Token":"t","Expiration":"2023-11-14T23:13:20Z"})"};
  };
  AwsCredentials c = DefaultCredentialsChain(fe.env(), http, "r").get();
  EXPECT_EQ(c.accessKeyId, "ASIAEC2");
  EXPECT_EQ(c.source, "instance metadata (my-role)");
  EXPECT_EQ(http.seen[0].url, "http://imds.local/latest/api/token");
  EXPECT_EQ(http.seen.back().url,
            "http://imds.local/latest/meta-data/iam/security-credentials/my-role");

  // Nothing anywhere (not on EC2 either): a message naming the options.
  fe.vars = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.local"}};
  http.answer = [](const HttpRequestSpec&) -> HttpReply {
    throw TransportError("connect timeout");
  };
  try {
    DefaultCredentialsChain(fe.env(), http, "r").get();
    FAIL();
  } catch (const CredentialsError& e) {
    EXPECT_NE(std::string(e.what()).find("AWS_ACCESS_KEY_ID"), std::string::npos);
  }
}

TEST(CredentialsParsing, TimesAndBodies) {
  EXPECT_EQ(parseIsoTime("2023-11-14T22:13:20Z").value(), 1700000000);
  EXPECT_EQ(parseIsoTime("2023-11-14T22:13:20.123Z").value(), 1700000000);
  EXPECT_EQ(parseIsoTime("2023-11-14T23:13:20+01:00").value(), 1700000000);
  EXPECT_FALSE(parseIsoTime("yesterday").has_value());
  EXPECT_THROW(parseStsCredentials(
                   "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>"),
               CredentialsError);
  EXPECT_THROW(parseJsonCredentials(R"({"Code":"Failure","Message":"no role"})"), CredentialsError);
  auto ini = parseIni("# c\n[a]\nk = v\n\n[ b ]\nx=1\n");
  EXPECT_EQ(ini["a"]["k"], "v");
  EXPECT_EQ(ini["b"]["x"], "1");
}

namespace {
class StaticCreds : public CredentialsProvider {
 public:
  AwsCredentials get() override { return {"AKID", "secret", "", 0, "test"}; }
};
}  // namespace

TEST(SqsClient, RetriesThrottlingAndServerErrorsOnly) {
  ScriptedHttp http;
  StaticCreds creds;
  int n = 0;
  http.answer = [&](const HttpRequestSpec& r) -> HttpReply {
    EXPECT_EQ(header(r, "X-Amz-Target"), "AmazonSQS.GetQueueAttributes");
    EXPECT_EQ(header(r, "Content-Type"), "application/x-amz-json-1.0");
    switch (++n) {
      case 1:
        return {
            400,
            R"({"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"})"};
      case 2:
        return {503, ""};
      default:
        return {
            200,
            R"({"Attributes":{"ApproximateNumberOfMessages":"42","ApproximateNumberOfMessagesNotVisible":"3","ApproximateNumberOfMessagesDelayed":"1"}})"};
    }
  };
  HttpSqsClient sqs(http, creds, "us-east-1", "",
                    {4, std::chrono::milliseconds(1), std::chrono::milliseconds(5)},
                    [] { return int64_t(1700000000); });
  QueueDepth d = sqs.getQueueAttributes("https://sqs.us-east-1.amazonaws.com/123/orders");
  EXPECT_EQ(d.visible, 42);
  EXPECT_EQ(d.notVisible, 3);
  EXPECT_EQ(d.delayed, 1);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(http.seen[0].url, "https://sqs.us-east-1.amazonaws.com/");
  EXPECT_NE(header(http.seen[0], "Authorization").find("/us-east-1/sqs/aws4_request"),
            std::string::npos);

  n = 0;
  http.answer = [&](const HttpRequestSpec&) -> HttpReply {
    ++n;
    return {
        400,
        R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."})"};
  };
  try {
    sqs.getQueueUrl("nope");
    FAIL();
  } catch (const SqsError& e) {
    EXPECT_EQ(e.code(), "QueueDoesNotExist");
    EXPECT_EQ(n, 1) << "a client error is not retried";
  }
  http.answer = [&](const HttpRequestSpec&) {
    return HttpReply{200, R"({"Attributes":{"ApproximateNumberOfMessages":"x"}})"};
  };
  EXPECT_THROW(sqs.getQueueAttributes("u"), SqsError) << "garbage is an error, never 0";
}

TEST(SqsClient, ListQueuesFollowsNextToken) {
  ScriptedHttp http;
  StaticCreds creds;
  http.answer = [&](const HttpRequestSpec& r) -> HttpReply {
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["QueueNamePrefix"], "batch-");
    EXPECT_EQ(body["MaxResults"], 1000);
    if (!body.contains("NextToken")) return {200, R"({"QueueUrls":["u1","u2"],"NextToken":"p2"})"};
    EXPECT_EQ(body["NextToken"], "p2");
    return {200, R"({"QueueUrls":["u3"]})"};
  };
  HttpSqsClient sqs(http, creds, "eu-west-1", "http://127.0.0.1:4566/");
  EXPECT_EQ(sqs.listQueues("batch-"), (std::vector<std::string>{"u1", "u2", "u3"}));
  EXPECT_EQ(http.seen[0].url, "http://127.0.0.1:4566/");
}
