#include "apiservice/authentication.h"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "apiservice/status.h"
#include "common/json_fields.h"

namespace apiservice {

using Json = nlohmann::json;

namespace {

constexpr int64_t kCertVerdictTtlMs = 60000;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The first non-empty value among `names`, in flag order.
std::string firstHeaderValue(const HttpRequest& req, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    auto [b, e] = req.headers.equal_range(lower(n));
    for (auto it = b; it != e; ++it)
      if (!it->second.empty()) return it->second;
  }
  return "";
}

// Go's url.PathUnescape; the key stays as sent when it is malformed.
std::string pathUnescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      return s;
    out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return out;
}

std::string sha256Hex(const std::string& s) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

[[noreturn]] void unauthorized(const std::vector<std::string>& why) {
  std::string msg = "Unauthorized";
  for (const auto& w : why) msg += (msg == "Unauthorized" ? ": " : "; ") + w;
  throw StatusError::unauthorized(msg);
}

}  // namespace

DelegatingAuthenticator::DelegatingAuthenticator(ReviewTransport* tokenReviews,
                                                 const common::Clock& clock,
                                                 AuthenticatorOptions opts)
    : tokenReviews_(tokenReviews),
      clock_(clock),
      opts_(opts),
      config_(std::make_shared<const Active>()),
      certCache_(opts.maxCacheEntries),
      tokenCache_(opts.maxCacheEntries) {}

void DelegatingAuthenticator::setConfig(AuthenticationConfig cfg) {
  auto active = std::make_shared<Active>();
  active->cfg = std::move(cfg);
  active->generation = ++generations_;
  config_.store(std::move(active));
}

DelegatingAuthenticator::Verdict DelegatingAuthenticator::verify(
    const CertificatePool& pool, char which, uint64_t generation,
    const std::vector<std::string>& chain) const {
  std::string key = std::to_string(generation) + which;
  for (const auto& c : chain) key += std::to_string(c.size()) + ":" + c;
  int64_t now = clock_.monotonicMillis();
  if (auto v = certCache_.get(key, now)) return *v;
  Verdict v;
  v.client = pool.verify(chain, &v.error);
  int64_t ttl = kCertVerdictTtlMs;
  if (v.client) {
    // Never remember a certificate past its expiry.
    int64_t left = (v.client->notAfterUnix * 1000 - clock_.nowMillis());
    ttl = std::max<int64_t>(0, std::min(ttl, left));
  }
  if (ttl > 0) certCache_.put(key, v, now + ttl);
  return v;
}

std::optional<UserInfo> DelegatingAuthenticator::fromRequestHeaders(
    const HttpRequest& req, const RequestHeaderConfig& cfg, uint64_t generation,
    std::vector<std::string>& errors) const {
  Verdict v = verify(*cfg.clientCA, 'r', generation, *req.peerCertificates);
  if (!v.client) {
    errors.push_back("front-proxy: " + v.error);
    return std::nullopt;
  }
  if (!cfg.allowedNames.empty() && std::find(cfg.allowedNames.begin(), cfg.allowedNames.end(),
                                             v.client->commonName) == cfg.allowedNames.end()) {
    errors.push_back("front-proxy: certificate CN \"" + v.client->commonName +
                     "\" is not in --requestheader-allowed-names");
    return std::nullopt;
  }
  UserInfo u;
  u.name = firstHeaderValue(req, cfg.usernameHeaders);
  if (u.name.empty()) return std::nullopt;  // a proxy certificate without a user: try the rest
  u.uid = firstHeaderValue(req, cfg.uidHeaders);
  for (const auto& h : cfg.groupHeaders) {
    auto [b, e] = req.headers.equal_range(lower(h));
    for (auto it = b; it != e; ++it)
      if (!it->second.empty()) u.groups.push_back(it->second);
  }
  for (const auto& p : cfg.extraHeaderPrefixes) {
    std::string prefix = lower(p);
    for (auto it = req.headers.lower_bound(prefix);
         it != req.headers.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      u.extra[pathUnescape(it->first.substr(prefix.size()))].push_back(it->second);
    }
  }
  return u;
}

namespace {

bool validUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

UserInfo reviewedUser(const Json& status) {
  const Json user = common::jsonMember(status, "user", Json::object());
  UserInfo u;
  u.name = common::jsonString(user, "username");
  u.uid = common::jsonString(user, "uid");
  const Json groups = common::jsonMember(user, "groups", Json::array());
  const Json extra = common::jsonMember(user, "extra", Json::object());
  for (const auto& g : groups)
    if (g.is_string()) u.groups.push_back(g.get<std::string>());
  for (const auto& [k, vals] : extra.items()) {
    if (!vals.is_array()) continue;
    for (const auto& x : vals)
      if (x.is_string()) u.extra[k].push_back(x.get<std::string>());
  }
  return u;
}

}  // namespace

common::Task<DelegatingAuthenticator::TokenVerdict> DelegatingAuthenticator::review(
    const std::string& token, common::RequestContext::Clock::time_point deadline) const {
  Json body = {{"apiVersion", "authentication.k8s.io/v1"},
               {"kind", "TokenReview"},
               {"spec", {{"token", token}}}};
  // Its own context: a shared review outlives the first caller's client.
  common::RequestContext ctx(deadline);
  ReviewReply reply;
  try {
    ++reviewsSent_;
    const std::string path = "/apis/authentication.k8s.io/v1/tokenreviews", json = body.dump();
    reply = co_await tokenReviews_->post(path, json, ctx);  // named: see coro.h
  } catch (const std::exception& e) {
    throw StatusError::unavailable(std::string("cannot review the bearer token: ") + e.what());
  }
  if (reply.status != 200 && reply.status != 201) {
    throw StatusError::unavailable("cannot review the bearer token: TokenReview answered HTTP " +
                                   std::to_string(reply.status));
  }
  Json j = Json::parse(reply.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw StatusError::unavailable("cannot review the bearer token: malformed TokenReview reply");
  const Json status = common::jsonMember(j, "status", Json::object());
  TokenVerdict v;
  if (common::jsonBool(status, "authenticated")) {
    UserInfo u = reviewedUser(status);
    if (!u.name.empty()) v.user = std::move(u);
  }
  if (!v.user) {
    std::string err = common::jsonString(status, "error");
    v.error = "the bearer token was rejected by TokenReview" + (err.empty() ? "" : ": " + err);
  }
  int64_t now = clock_.monotonicMillis();
  tokenCache_.put(sha256Hex(token), v, now + opts_.tokenCacheTtlMs);
  co_return v;
}

common::Task<UserInfo> DelegatingAuthenticator::fromToken(const std::string& token,
                                                          const common::RequestContext& ctx) const {
  std::string key = sha256Hex(token);  // the token itself is never kept
  std::optional<TokenVerdict> v = tokenCache_.get(key, clock_.monotonicMillis());
  if (!v) {
    const std::function<common::Task<TokenVerdict>()> work = [&] {
      return review(token, ctx.deadline());
    };
    v = co_await tokenFlights_.run(key, ctx, work);  // named: see coro.h
  }
  if (!v->user) unauthorized({v->error});
  co_return *v->user;
}

namespace {

// The bearer token of an Authorization header; empty when there is none.
std::optional<std::string> bearerToken(const HttpRequest& req) {
  const std::string* auth = req.header("authorization");
  if (!auth) return std::nullopt;
  std::string a = *auth;
  a.erase(0, a.find_first_not_of(" \t"));
  if (a.size() <= 7 || lower(a.substr(0, 7)) != "bearer ") return std::nullopt;
  std::string token = a.substr(7);
  token.erase(0, token.find_first_not_of(' '));
  return token.substr(0, token.find(' '));
}

}  // namespace

common::Task<UserInfo> DelegatingAuthenticator::authenticate(
    const HttpRequest& req, const common::RequestContext& ctx) const {
  auto active = config_.load();
  const AuthenticationConfig& cfg = active->cfg;
  std::vector<std::string> errors;
  bool hasCert = req.peerCertificates && !req.peerCertificates->empty();
  if (hasCert && cfg.requestHeader.clientCA) {
    if (auto u = fromRequestHeaders(req, cfg.requestHeader, active->generation, errors))
      co_return *u;
  }
  if (hasCert && cfg.clientCA) {
    Verdict v = verify(*cfg.clientCA, 'c', active->generation, *req.peerCertificates);
    if (v.client && !v.client->commonName.empty()) {
      UserInfo u;
      u.name = v.client->commonName;
      u.groups = v.client->organizations;
      co_return u;
    }
    errors.push_back("client certificate: " +
                     (v.client ? std::string("the certificate has no CN") : v.error));
  }
  if (std::optional<std::string> token = bearerToken(req)) {
    if (token->empty()) {
      errors.push_back("empty bearer token");
    } else if (!validUtf8(*token)) {
      errors.push_back("the bearer token is not valid UTF-8");
    } else if (!tokenReviews_) {
      errors.push_back("bearer tokens are not accepted (no authentication kubeconfig)");
    } else {
      co_return co_await fromToken(*token, ctx);
    }
  }
  if (errors.empty()) errors.push_back("no client certificate or bearer token");
  unauthorized(errors);
}

}  // namespace apiservice
