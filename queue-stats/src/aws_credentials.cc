#include "queue_stats/aws_credentials.h"
#include "common/percent_encoding.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace queue_stats {

namespace {

// Refresh this long before expiry (the SDKs use 5 to 15 minutes).
constexpr int64_t kRefreshMarginSeconds = 300;

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

std::string xmlTag(const std::string& xml, const std::string& tag) {
  auto open = xml.find("<" + tag + ">");
  if (open == std::string::npos) return "";
  auto start = open + tag.size() + 2;
  auto close = xml.find("</" + tag + ">", start);
  if (close == std::string::npos) return "";
  return xml.substr(start, close - start);
}

std::string xmlUnescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1))
      s.replace(p, std::string(from).size(), to);
  }
  return s;
}

// The parts of an absolute URL the host check needs.
struct UriParts {
  std::string scheme;     // lower case
  std::string authority;  // userinfo@host:port
  std::string host;       // without brackets or port
  bool bracketed = false;
};

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Splits host and port; false for anything a URL parser might read
// differently (stray characters, a port that is not a number).
bool splitHostPort(const std::string& hostport, UriParts& u) {
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos) return false;
    u.host = hostport.substr(1, close - 1);
    u.bracketed = true;
    std::string rest = hostport.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    auto colon = hostport.find(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) return false;
  const char* allowed = u.bracketed ? "0123456789abcdefABCDEF:." : nullptr;
  for (char ch : u.host) {
    bool ok = allowed ? std::strchr(allowed, ch) != nullptr
                      : std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-';
    if (!ok) return false;
  }
  return !u.host.empty();
}

std::optional<UriParts> parseUri(const std::string& uri) {
  UriParts u;
  auto sep = uri.find("://");
  if (sep == std::string::npos) return std::nullopt;
  u.scheme = lower(uri.substr(0, sep));
  u.authority = uri.substr(sep + 3, uri.find_first_of("/?#", sep + 3) - sep - 3);
  for (char ch : u.authority)
    if (static_cast<unsigned char>(ch) <= ' ' || static_cast<unsigned char>(ch) >= 0x7f ||
        ch == '\\')
      return std::nullopt;
  // Userinfo ends at the last '@' (curl reads it so too).
  auto at = u.authority.rfind('@');
  if (!splitHostPort(u.authority.substr(at == std::string::npos ? 0 : at + 1), u))
    return std::nullopt;
  u.host = lower(u.host);
  return u;
}

// Dotted-quad only, no leading zeros: "0127.1" or "169.254.170.023" would
// be octal or short forms to a resolver, and a different address.
std::optional<std::array<int, 4>> parseIpv4(const std::string& s) {
  std::array<int, 4> out{};
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    size_t end = i < 3 ? s.find('.', pos) : s.size();
    if (end == std::string::npos) return std::nullopt;
    std::string part = s.substr(pos, end - pos);
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string::npos ||
        (part.size() > 1 && part[0] == '0'))
      return std::nullopt;
    out[i] = std::stoi(part);
    if (out[i] > 255) return std::nullopt;
    pos = end + 1;
  }
  return out;
}

bool isTrustedIpv6(const std::string& s) {
  in6_addr a{}, loopback{}, eks{};
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return false;
  inet_pton(AF_INET6, "::1", &loopback);
  inet_pton(AF_INET6, "fd00:ec2::23", &eks);
  return std::memcmp(&a, &loopback, sizeof a) == 0 || std::memcmp(&a, &eks, sizeof a) == 0;
}

bool isTrustedHost(const UriParts& u) {
  if (u.bracketed) return isTrustedIpv6(u.host);
  if (u.host == "localhost") return true;
  auto ip = parseIpv4(u.host);
  if (!ip) return false;
  auto [a, b, c, d] = *ip;
  return a == 127 || (a == 169 && b == 254 && c == 170 && (d == 2 || d == 23));
}

// scheme://host[:port] for messages: never the path or userinfo, which may
// carry a token.
std::string uriOrigin(const std::string& uri) {
  auto u = parseUri(uri);
  if (!u) return "(not a valid http or https URL)";
  std::string hostport = u->authority.substr(u->authority.rfind('@') + 1);
  return u->scheme + "://" + hostport;
}

}  // namespace

bool isAllowedContainerCredentialsUri(const std::string& uri) {
  // https authenticates the host, whatever it is.
  if (lower(uri.substr(0, 8)) == "https://") return true;
  auto u = parseUri(uri);
  return u && u->scheme == "http" && isTrustedHost(*u);
}

AwsEnvironment AwsEnvironment::process() {
  AwsEnvironment e;
  e.getenv = [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  e.readFile = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  e.nowUnix = [] {
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  };
  return e;
}

std::optional<int64_t> parseIsoTime(const std::string& s) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t t = timegm(&tm);
  // An offset such as +02:00 (IMDS and STS use Z, but be exact).
  auto tpos = s.find('T');
  auto sign = s.find_first_of("+-", tpos);
  if (sign != std::string::npos && sign + 5 < s.size() + 1) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + sign + 1, "%2d:%2d", &oh, &om) == 2)
      t -= (s[sign] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  return t;
}

std::map<std::string, std::map<std::string, std::string>> parseIni(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::string section;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      auto close = line.find(']');
      section = trim(line.substr(1, close == std::string::npos ? std::string::npos : close - 1));
      out[section];
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    out[section][trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

AwsCredentials parseStsCredentials(const std::string& xml) {
  std::string block = xmlTag(xml, "Credentials");
  if (block.empty()) {
    std::string code = xmlTag(xml, "Code"), msg = xmlTag(xml, "Message");
    throw CredentialsError("STS answered without credentials" +
                           (code.empty() ? std::string() : ": " + code + ": " + xmlUnescape(msg)));
  }
  AwsCredentials c;
  c.accessKeyId = xmlUnescape(xmlTag(block, "AccessKeyId"));
  c.secretAccessKey = xmlUnescape(xmlTag(block, "SecretAccessKey"));
  c.sessionToken = xmlUnescape(xmlTag(block, "SessionToken"));
  auto exp = parseIsoTime(xmlTag(block, "Expiration"));
  if (c.accessKeyId.empty() || c.secretAccessKey.empty() || !exp)
    throw CredentialsError("STS credentials are incomplete");
  c.expiresAtUnix = *exp;
  return c;
}

AwsCredentials parseJsonCredentials(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object())
    throw CredentialsError("the credentials endpoint answered with malformed JSON");
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (std::string code = str("Code"); !code.empty() && code != "Success")
    throw CredentialsError("the credentials endpoint answered " + code + ": " + str("Message"));
  AwsCredentials c;
  c.accessKeyId = str("AccessKeyId");
  c.secretAccessKey = str("SecretAccessKey");
  c.sessionToken = str("Token");
  if (c.accessKeyId.empty() || c.secretAccessKey.empty())
    throw CredentialsError("the credentials endpoint answered without AccessKeyId/SecretAccessKey");
  if (std::string e = str("Expiration"); !e.empty()) {
    auto t = parseIsoTime(e);
    if (!t) throw CredentialsError("the credentials endpoint answered an unreadable Expiration");
    c.expiresAtUnix = *t;
  }
  return c;
}

DefaultCredentialsChain::DefaultCredentialsChain(AwsEnvironment env, HttpTransport& http,
                                                 std::string region,
                                                 std::chrono::milliseconds timeout)
    : env_(std::move(env)), http_(http), region_(std::move(region)), timeout_(timeout) {}

void DefaultCredentialsChain::invalidate(const AwsCredentials& rejected) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_ && cached_->accessKeyId == rejected.accessKeyId &&
      cached_->sessionToken == rejected.sessionToken)
    cached_.reset();
}

AwsCredentials DefaultCredentialsChain::get() {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = env_.nowUnix();
  if (cached_ &&
      (cached_->expiresAtUnix == 0 || cached_->expiresAtUnix - now > kRefreshMarginSeconds))
    return *cached_;
  try {
    cached_ = resolve();
  } catch (const CredentialsError&) {
    // A failed refresh keeps credentials that are still valid.
    if (cached_ && cached_->expiresAtUnix > now) return *cached_;
    throw;
  }
  return *cached_;
}

AwsCredentials DefaultCredentialsChain::resolve() {
  if (auto c = fromEnvironment()) return *c;
  std::string profile = env_.getenv("AWS_PROFILE").value_or("default");
  if (auto c = fromProfile(profile, 0)) return *c;
  if (auto file = env_.getenv("AWS_WEB_IDENTITY_TOKEN_FILE")) {
    auto role = env_.getenv("AWS_ROLE_ARN");
    if (!role) throw CredentialsError("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
    return *fromWebIdentity(*role, *file,
                            env_.getenv("AWS_ROLE_SESSION_NAME").value_or("queue-stats"));
  }
  if (auto c = fromContainer()) return *c;
  if (auto c = fromInstanceMetadata()) return *c;
  throw CredentialsError(
      "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in "
      "~/.aws/credentials, IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), container "
      "credentials, "
      "or run on EC2 with an instance role");
}

std::optional<AwsCredentials> DefaultCredentialsChain::fromEnvironment() {
  auto id = env_.getenv("AWS_ACCESS_KEY_ID"), secret = env_.getenv("AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return std::nullopt;
  if (!id || !secret)
    throw CredentialsError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
  AwsCredentials c{*id, *secret, env_.getenv("AWS_SESSION_TOKEN").value_or(""), 0, "environment"};
  return c;
}

std::map<std::string, std::string> DefaultCredentialsChain::profileSection(
    const std::string& profile) const {
  std::map<std::string, std::string> merged;
  std::string home = env_.getenv("HOME").value_or("");
  // The config file names sections "profile X" (except "default").
  if (auto text = env_.readFile(env_.getenv("AWS_CONFIG_FILE").value_or(home + "/.aws/config"))) {
    auto ini = parseIni(*text);
    auto it = ini.find(profile == "default" ? "default" : "profile " + profile);
    if (it == ini.end()) it = ini.find(profile);
    if (it != ini.end()) merged = it->second;
  }
  // The credentials file wins for the keys it has.
  if (auto text = env_.readFile(
          env_.getenv("AWS_SHARED_CREDENTIALS_FILE").value_or(home + "/.aws/credentials"))) {
    auto ini = parseIni(*text);
    if (auto it = ini.find(profile); it != ini.end())
      for (const auto& [k, v] : it->second) merged[k] = v;
  }
  return merged;
}

std::optional<std::string> DefaultCredentialsChain::profileRegion() const {
  if (auto r = env_.getenv("AWS_REGION")) return r;
  if (auto r = env_.getenv("AWS_DEFAULT_REGION")) return r;
  auto section = profileSection(env_.getenv("AWS_PROFILE").value_or("default"));
  if (auto it = section.find("region"); it != section.end() && !it->second.empty())
    return it->second;
  return std::nullopt;
}

std::optional<AwsCredentials> DefaultCredentialsChain::fromProfile(const std::string& profile,
                                                                   int depth) {
  if (depth > 4)
    throw CredentialsError("profile " + profile + ": source_profile chain is too long");
  auto p = profileSection(profile);
  if (p.empty()) {
    if (env_.getenv("AWS_PROFILE") && depth == 0)
      throw CredentialsError("AWS_PROFILE=" + profile +
                             " names no profile in the AWS config or credentials file");
    return std::nullopt;
  }
  if (p.count("aws_access_key_id") || p.count("aws_secret_access_key")) {
    if (!p.count("aws_access_key_id") || !p.count("aws_secret_access_key"))
      throw CredentialsError("profile " + profile +
                             ": aws_access_key_id and aws_secret_access_key go together");
    if (!p.count("role_arn")) {
      return AwsCredentials{p["aws_access_key_id"], p["aws_secret_access_key"],
                            p["aws_session_token"], 0, "profile " + profile};
    }
  }
  if (!p.count("role_arn")) return std::nullopt;
  std::string session = p.count("role_session_name") ? p["role_session_name"] : "queue-stats";
  if (p.count("web_identity_token_file"))
    return fromWebIdentity(p["role_arn"], p["web_identity_token_file"], session);
  if (!p.count("source_profile"))
    throw CredentialsError("profile " + profile +
                           ": role_arn needs source_profile or web_identity_token_file");
  auto source = fromProfile(p["source_profile"], depth + 1);
  if (!source)
    throw CredentialsError("profile " + profile + ": source_profile " + p["source_profile"] +
                           " has no credentials");
  // STS AssumeRole, signed with the source profile's credentials.
  std::string body =
      "Action=AssumeRole&Version=2011-06-15&RoleArn=" + common::percentEncode(p["role_arn"]) +
      "&RoleSessionName=" + common::percentEncode(session);
  std::string endpoint = stsEndpoint();
  std::string host = endpoint.substr(endpoint.find("//") + 2);
  host = host.substr(0, host.find('/'));
  SignableRequest sreq{"POST",
                       "/",
                       "",
                       {{"Host", host}, {"Content-Type", "application/x-www-form-urlencoded"}},
                       body};
  Signature sig =
      signRequest(sreq, *source, {region_.empty() ? "us-east-1" : region_, "sts", env_.nowUnix()});
  HttpRequestSpec req{"POST", endpoint + "/", sreq.headers, body, timeout_};
  for (auto& h : sig.headers) req.headers.push_back(h);
  HttpReply r;
  try {
    r = http_.send(req);
  } catch (const TransportError& e) {
    throw CredentialsError(std::string("STS AssumeRole: ") + e.what());
  }
  if (r.status != 200)
    throw CredentialsError("STS AssumeRole answered HTTP " + std::to_string(r.status) + ": " +
                           xmlTag(r.body, "Message"));
  AwsCredentials c = parseStsCredentials(r.body);
  c.source = "profile " + profile + " (assumed role)";
  return c;
}

std::string DefaultCredentialsChain::stsEndpoint() const {
  if (auto e = env_.getenv("AWS_ENDPOINT_URL_STS")) return *e;
  if (auto e = env_.getenv("AWS_ENDPOINT_URL")) return *e;
  return "https://sts." + (region_.empty() ? std::string("us-east-1") : region_) + ".amazonaws.com";
}

std::optional<AwsCredentials> DefaultCredentialsChain::fromWebIdentity(
    const std::string& roleArn, const std::string& tokenFile, const std::string& sessionName) {
  // Read at every refresh: the kubelet rotates the projected token.
  auto token = env_.readFile(tokenFile);
  if (!token) throw CredentialsError("cannot read the web identity token " + tokenFile);
  std::string body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
                     common::percentEncode(roleArn) +
                     "&RoleSessionName=" + common::percentEncode(sessionName) +
                     "&WebIdentityToken=" + common::percentEncode(trim(*token));
  HttpRequestSpec req{"POST",
                      stsEndpoint() + "/",
                      {{"Content-Type", "application/x-www-form-urlencoded"}},
                      body,
                      timeout_};
  HttpReply r;
  try {
    r = http_.send(req);
  } catch (const TransportError& e) {
    throw CredentialsError(std::string("STS AssumeRoleWithWebIdentity: ") + e.what());
  }
  if (r.status != 200) {
    throw CredentialsError("STS AssumeRoleWithWebIdentity for " + roleArn + " answered HTTP " +
                           std::to_string(r.status) + ": " + xmlTag(r.body, "Code") + " " +
                           xmlTag(r.body, "Message"));
  }
  AwsCredentials c = parseStsCredentials(r.body);
  c.source = "web identity (" + roleArn + ")";
  return c;
}

std::optional<AwsCredentials> DefaultCredentialsChain::fromContainer() {
  std::string url;
  if (auto rel = env_.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
    url = "http://169.254.170.2" + *rel;
  else if (auto full = env_.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
    url = *full;
  else
    return std::nullopt;
  // The token header would go to whoever answers: only to hosts the SDKs trust.
  if (!isAllowedContainerCredentialsUri(url))
    throw CredentialsError("AWS_CONTAINER_CREDENTIALS_FULL_URI " + uriOrigin(url) +
                           " is not allowed: use https, or http to a loopback address "
                           "(127.0.0.0/8, [::1], localhost) or the ECS/EKS container host "
                           "(169.254.170.2, 169.254.170.23, [fd00:ec2::23])");
  HttpRequestSpec req{"GET", url, {}, "", timeout_};
  // EKS Pod Identity: the token file is rotated, so read it every time.
  if (auto file = env_.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    auto t = env_.readFile(*file);
    if (!t) throw CredentialsError("cannot read " + *file);
    req.headers.emplace_back("Authorization", trim(*t));
  } else if (auto t = env_.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    req.headers.emplace_back("Authorization", *t);
  }
  HttpReply r;
  try {
    r = http_.send(req);
  } catch (const TransportError& e) {
    throw CredentialsError(std::string("container credentials: ") + e.what());
  }
  if (r.status != 200)
    throw CredentialsError("container credentials endpoint answered HTTP " +
                           std::to_string(r.status));
  AwsCredentials c = parseJsonCredentials(r.body);
  c.source = "container credentials";
  return c;
}

std::optional<AwsCredentials> DefaultCredentialsChain::fromInstanceMetadata() {
  if (env_.getenv("AWS_EC2_METADATA_DISABLED").value_or("") == "true") return std::nullopt;
  std::string base =
      env_.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto call = [&](HttpRequestSpec req) -> std::optional<HttpReply> {
    try {
      return http_.send(req);
    } catch (const TransportError&) {
      return std::nullopt;  // not on EC2
    }
  };
  // Short timeouts: off EC2 the address blackholes, and the chain moves on.
  auto imdsTimeout = std::min<std::chrono::milliseconds>(timeout_, std::chrono::seconds(2));
  // IMDSv2: a session token first.
  auto tok = call({"PUT",
                   base + "/latest/api/token",
                   {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}},
                   "",
                   std::min<std::chrono::milliseconds>(timeout_, std::chrono::seconds(1))});
  if (!tok) return std::nullopt;
  if (tok->status != 200)
    throw CredentialsError("IMDSv2 token request answered HTTP " + std::to_string(tok->status));
  std::vector<std::pair<std::string, std::string>> h{{"X-aws-ec2-metadata-token", trim(tok->body)}};
  auto roles =
      call({"GET", base + "/latest/meta-data/iam/security-credentials/", h, "", imdsTimeout});
  if (!roles || roles->status != 200)
    throw CredentialsError("the instance has no IAM role (instance metadata)");
  std::string role = trim(roles->body.substr(0, roles->body.find('\n')));
  auto creds = call(
      {"GET", base + "/latest/meta-data/iam/security-credentials/" + role, h, "", imdsTimeout});
  if (!creds || creds->status != 200)
    throw CredentialsError("instance metadata credentials for " + role + " unavailable");
  AwsCredentials c = parseJsonCredentials(creds->body);
  c.source = "instance metadata (" + role + ")";
  return c;
}

}  // namespace queue_stats
