// The credential chain and the SQS client over scripted transports.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <tuple>

#include "queue_stats/aws_credentials.h"
#include "queue_stats/http_transport.h"
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

TEST(CredentialsContainer, FullUriHostsAreTheOnesTheSdksAllow) {
  struct Case {
    const char* uri;
    bool allowed;
  } cases[] = {
      {"http://127.0.0.1/creds", true},
      {"http://127.42.0.9:8080/creds", true},
      {"http://localhost:51679/creds", true},
      {"HTTP://LOCALHOST/creds", true},
      {"http://[::1]:80/", true},
      {"http://[0:0:0:0:0:0:0:1]/", true},
      {"http://169.254.170.2/v2/credentials/abc", true},
      {"http://169.254.170.23/v1/credentials", true},
      {"http://[fd00:ec2::23]/v1/credentials", true},
      {"http://[FD00:EC2:0::23]:80/v1/credentials", true},
      {"https://example.com/", true},
      {"https://creds.internal:8443/x", true},
      // Refused: other hosts over http, look-alikes, other spellings.
      {"http://10.0.0.1/", false},
      {"http://127.0.0.1.nip.io/", false},
      {"http://localhost.evil.com/", false},
      {"http://127.0.0.1@evil.com/", false},
      {"http://evil.com#@127.0.0.1/", false},
      {"http://evil.com\\@127.0.0.1/", false},
      {"http://169.254.170.3/", false},
      {"http://169.254.170.023/", false},  // octal 19 to some resolvers
      {"http://0177.0.0.1/", false},
      {"http://127.1/", false},
      {"http://2130706433/", false},
      {"http://[::2]/", false},
      {"http://[::ffff:10.0.0.1]/", false},
      {"http://[::1/", false},
      {"http://[::1]x/", false},
      {"http://127.0.0.1:80x/", false},
      {"http://::1/", false},
      {"http://169.254.169.254/latest/meta-data/", false},
      {"ftp://127.0.0.1/", false},
      {"/creds", false},
      {"", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(isAllowedContainerCredentialsUri(c.uri), c.allowed) << c.uri;
}

TEST(CredentialsContainer, RefusedFullUriIsAnErrorWithoutARequest) {
  FakeEnv fe;
  fe.vars = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://user:hunter2@10.0.0.1/c?t=s3cr3t"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-token"}};
  ScriptedHttp http;
  http.answer = [](const HttpRequestSpec&) { return HttpReply{200, "{}"}; };
  try {
    DefaultCredentialsChain(fe.env(), http, "r").get();
    FAIL() << "an http URL to 10.0.0.1 was accepted";
  } catch (const CredentialsError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("AWS_CONTAINER_CREDENTIALS_FULL_URI http://10.0.0.1 is not allowed"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("169.254.170.23"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.0/8"), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
    EXPECT_EQ(m.find("s3cr3t"), std::string::npos) << m;
  }
  EXPECT_TRUE(http.seen.empty()) << "the token must not go to a refused host";

  fe.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://[::1]:80/creds";
  http.answer = [](const HttpRequestSpec&) {
    return HttpReply{200, R"({"AccessKeyId":"ASIALOCAL","SecretAccessKey":"s"})"};
  };
  EXPECT_EQ(DefaultCredentialsChain(fe.env(), http, "r").get().accessKeyId, "ASIALOCAL");
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].url, "http://[::1]:80/creds");
}

TEST(Credentials, TimeoutReachesEveryRequest) {
  FakeEnv fe;
  ScriptedHttp http;
  fe.vars = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://example.com/creds"}};
  http.answer = [](const HttpRequestSpec&) {
    return HttpReply{200, R"({"AccessKeyId":"ASIA","SecretAccessKey":"s"})"};
  };
  DefaultCredentialsChain(fe.env(), http, "r", std::chrono::milliseconds(1234)).get();
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].timeout, std::chrono::milliseconds(1234));

  fe.vars = {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
             {"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"},
             {"AWS_ENDPOINT_URL_STS", "https://sts.local"}};
  fe.files["/t"] = "jwt";
  http.seen.clear();
  http.answer = [](const HttpRequestSpec&) {
    return HttpReply{200, stsAnswer("AssumeRoleWithWebIdentity", "ASIA", "2023-11-14T23:13:20Z")};
  };
  DefaultCredentialsChain(fe.env(), http, "r", std::chrono::milliseconds(1234)).get();
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].timeout, std::chrono::milliseconds(1234));

  // IMDS keeps its shorter timeouts (1 s token, 2 s metadata), never longer ones.
  fe.vars = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.local"}};
  http.answer = [](const HttpRequestSpec& r) -> HttpReply {
    if (r.method == "PUT") return {200, "tok"};
    if (r.url.back() == '/') return {200, "role"};
    return {200, R"({"AccessKeyId":"ASIA","SecretAccessKey":"s"})"};
  };
  for (auto [given, token, meta] :
       {std::tuple{1234, 1000, 1234}, std::tuple{300, 300, 300}, std::tuple{9000, 1000, 2000}}) {
    http.seen.clear();
    DefaultCredentialsChain(fe.env(), http, "r", std::chrono::milliseconds(given)).get();
    ASSERT_EQ(http.seen.size(), 3u);
    EXPECT_EQ(http.seen[0].timeout, std::chrono::milliseconds(token)) << given;
    EXPECT_EQ(http.seen[1].timeout, std::chrono::milliseconds(meta)) << given;
    EXPECT_EQ(http.seen[2].timeout, std::chrono::milliseconds(meta)) << given;
  }
}

namespace {
const char* kDepth =
    R"({"Attributes":{"ApproximateNumberOfMessages":"7","ApproximateNumberOfMessagesNotVisible":"0","ApproximateNumberOfMessagesDelayed":"0"}})";

// Container credentials that change at every fetch: ASIA1/t1, ASIA2/t2, ...
struct RotatingContainerCreds {
  FakeEnv fe;
  ScriptedHttp http;
  int fetched = 0;
  RotatingContainerCreds() {
    fe.vars = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds"}};
    http.answer = [this](const HttpRequestSpec&) {
      std::string n = std::to_string(++fetched);
      return HttpReply{200, R"({"AccessKeyId":"ASIA)" + n + R"(","SecretAccessKey":"s)" + n +
                                R"(","Token":"t)" + n +
                                R"(","Expiration":"2023-11-14T23:13:20Z"})"};
    };
  }
};
}  // namespace

TEST(SqsClient, ExpiredTokenRefreshesCredentialsAndRetriesOnce) {
  RotatingContainerCreds rc;
  DefaultCredentialsChain chain(rc.fe.env(), rc.http, "us-east-1");
  ScriptedHttp sqsHttp;
  int calls = 0;
  sqsHttp.answer = [&](const HttpRequestSpec& r) -> HttpReply {
    ++calls;
    if (header(r, "Authorization").find("Credential=ASIA1/") != std::string::npos)
      return {
          403,
          R"({"__type":"com.amazon.coral.service#ExpiredToken","message":"The security token included in the request is expired"})"};
    return {200, kDepth};
  };
  HttpSqsClient sqs(sqsHttp, chain, "us-east-1", "", {}, [] { return int64_t(1700000000); });
  EXPECT_EQ(sqs.getQueueAttributes("u").visible, 7);
  EXPECT_EQ(rc.fetched, 2) << "the credential endpoint is asked again at once";
  ASSERT_EQ(calls, 2);
  EXPECT_NE(header(sqsHttp.seen[1], "Authorization").find("Credential=ASIA2/"), std::string::npos);
  EXPECT_EQ(header(sqsHttp.seen[1], "X-Amz-Security-Token"), "t2");
  // The fresh credentials are cached: the next call does not fetch again.
  EXPECT_EQ(sqs.getQueueAttributes("u").visible, 7);
  EXPECT_EQ(rc.fetched, 2);
}

TEST(SqsClient, CredentialsRejectedTwiceStandWithoutALoop) {
  RotatingContainerCreds rc;
  DefaultCredentialsChain chain(rc.fe.env(), rc.http, "us-east-1");
  ScriptedHttp sqsHttp;
  sqsHttp.answer = [](const HttpRequestSpec&) -> HttpReply {
    return {
        403,
        R"({"__type":"com.amazon.coral.service#InvalidClientTokenId","message":"The security token included in the request is invalid."})"};
  };
  HttpSqsClient sqs(sqsHttp, chain, "us-east-1", "",
                    {4, std::chrono::milliseconds(1), std::chrono::milliseconds(5)},
                    [] { return int64_t(1700000000); });
  try {
    sqs.getQueueUrl("orders");
    FAIL();
  } catch (const SqsError& e) {
    EXPECT_EQ(e.code(), "InvalidClientTokenId");
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(std::string(e.what()).find("t2"), std::string::npos) << "no session token";
  }
  EXPECT_EQ(sqsHttp.seen.size(), 2u) << "one retry with fresh credentials, no more";
  EXPECT_EQ(rc.fetched, 2);

  // Other client errors do not touch the credentials.
  sqsHttp.seen.clear();
  sqsHttp.answer = [](const HttpRequestSpec&) -> HttpReply {
    return {400, R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist"})"};
  };
  EXPECT_THROW(sqs.getQueueUrl("orders"), SqsError);
  EXPECT_EQ(sqsHttp.seen.size(), 1u);
  EXPECT_EQ(rc.fetched, 2);
}

TEST(Credentials, InvalidateForgetsOnlyTheRejectedCredentials) {
  RotatingContainerCreds rc;
  DefaultCredentialsChain chain(rc.fe.env(), rc.http, "r");
  AwsCredentials first = chain.get();
  EXPECT_EQ(first.accessKeyId, "ASIA1");
  chain.invalidate({"ASIA0", "s0", "t0", 0, ""});  // someone else's stale copy
  EXPECT_EQ(chain.get().accessKeyId, "ASIA1");
  EXPECT_EQ(rc.fetched, 1);
  chain.invalidate(first);
  chain.invalidate(first);  // a second worker that saw the same rejection
  EXPECT_EQ(chain.get().accessKeyId, "ASIA2");
  chain.invalidate(first);
  EXPECT_EQ(chain.get().accessKeyId, "ASIA2");
  EXPECT_EQ(rc.fetched, 2);
}

TEST(SqsClient, TimeoutReachesTheRequest) {
  ScriptedHttp http;
  StaticCreds creds;
  http.answer = [](const HttpRequestSpec&) { return HttpReply{200, kDepth}; };
  HttpSqsClient sqs(http, creds, "us-east-1", "", {}, {}, std::chrono::milliseconds(750));
  sqs.getQueueAttributes("u");
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].timeout, std::chrono::milliseconds(750));

  HttpSqsClient byDefault(http, creds, "us-east-1", "");
  byDefault.getQueueAttributes("u");
  EXPECT_EQ(http.seen.back().timeout, std::chrono::seconds(5));
}

TEST(CurlTransport, BlackholedPortFailsByTheDeadline) {
  // Listening but never accepting: the kernel completes the handshake and
  // the request then waits for an answer that never comes.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = "http://user:pw-s3cr3t@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
                    "/creds?token=qs-s3cr3t";

  CurlTransport http;
  auto start = std::chrono::steady_clock::now();
  try {
    http.send({"GET", url, {{"Authorization", "hdr-s3cr3t"}}, "", std::chrono::milliseconds(300)});
    FAIL() << "a blackholed endpoint answered";
  } catch (const TransportError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find("s3cr3t"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.1"), std::string::npos) << m;
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_GE(took.count(), 250);
  EXPECT_LT(took.count(), 300 + 700) << "the deadline is total";

  // libcurl reads 0 as "no timeout": a zero timeout must still end.
  start = std::chrono::steady_clock::now();
  EXPECT_THROW(http.send({"GET", url, {}, "", std::chrono::milliseconds(0)}), TransportError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  close(fd);
}
