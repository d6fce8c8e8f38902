#include "queue_stats/sigv4.h"
#include "common/percent_encoding.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace queue_stats {

namespace {

std::string hex(const unsigned char* d, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

std::string hmac(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Header values: trimmed, inner runs of whitespace (including folded
// lines) collapsed to one space.
std::string canonicalValue(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// RFC 3986 remove_dot_segments, and repeated slashes collapsed.
std::string normalize(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string result = "/";
  for (size_t k = 0; k < out.size(); ++k) result += (k ? "/" : "") + out[k];
  bool trailing =
      !path.empty() &&
      (path.back() == '/' || (path.size() >= 2 && path.compare(path.size() - 2, 2, "/.") == 0) ||
       (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0));
  if (trailing && result.size() > 1) result += '/';
  return result;
}

std::string canonicalQuery(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t i = 0;
  while (i < query.size()) {
    size_t j = query.find('&', i);
    if (j == std::string::npos) j = query.size();
    std::string kv = query.substr(i, j - i);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string k = percentDecode(kv.substr(0, eq));
      std::string v = eq == std::string::npos ? "" : percentDecode(kv.substr(eq + 1));
      params.emplace_back(common::percentEncode(k, false), common::percentEncode(v, false));
    }
    i = j + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (size_t k = 0; k < params.size(); ++k)
    out += (k ? "&" : "") + params[k].first + "=" + params[k].second;
  return out;
}

}  // namespace

std::string sha256Hex(const std::string& data) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  return hex(md, n);
}

std::string amzDate(int64_t unixSeconds) {
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature signRequest(const SignableRequest& req, const AwsCredentials& creds,
                      const SigningOptions& opts) {
  Signature sig;
  std::string date = amzDate(opts.timeUnix);
  std::string day = date.substr(0, 8);
  std::string payloadHash = sha256Hex(req.body);
  sig.headers.emplace_back("X-Amz-Date", date);
  bool tokenSigned = !creds.sessionToken.empty() && !opts.omitSessionToken;
  if (tokenSigned) sig.headers.emplace_back("X-Amz-Security-Token", creds.sessionToken);
  if (opts.signBody) sig.headers.emplace_back("x-amz-content-sha256", payloadHash);

  // Every header, names lowercased, values of repeated names joined by ",".
  std::map<std::string, std::string> canonical;
  auto add = [&](const std::string& name, const std::string& value) {
    std::string k = lower(name);
    std::string v = canonicalValue(value);
    auto [it, fresh] = canonical.emplace(k, v);
    if (!fresh) it->second += "," + v;
  };
  for (const auto& [k, v] : req.headers) add(k, v);
  for (const auto& [k, v] : sig.headers) add(k, v);
  std::string headerBlock, signedHeaders;
  for (const auto& [k, v] : canonical) {
    headerBlock += k + ":" + v + "\n";
    signedHeaders += (signedHeaders.empty() ? "" : ";") + k;
  }
  std::string path = percentDecode(req.path.empty() ? "/" : req.path);
  if (opts.normalizePath) path = normalize(path);
  sig.canonicalRequest = req.method + "\n" + common::percentEncode(path, true) + "\n" +
                         canonicalQuery(req.query) + "\n" + headerBlock + "\n" + signedHeaders +
                         "\n" + payloadHash;
  std::string scope = day + "/" + opts.region + "/" + opts.service + "/aws4_request";
  sig.stringToSign =
      "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + sha256Hex(sig.canonicalRequest);
  std::string key = hmac("AWS4" + creds.secretAccessKey, day);
  key = hmac(key, opts.region);
  key = hmac(key, opts.service);
  key = hmac(key, "aws4_request");
  std::string mac = hmac(key, sig.stringToSign);
  sig.signature = hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  if (!creds.sessionToken.empty() && opts.omitSessionToken)
    sig.headers.emplace_back("X-Amz-Security-Token", creds.sessionToken);
  sig.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + creds.accessKeyId +
                                                "/" + scope + ", SignedHeaders=" + signedHeaders +
                                                ", Signature=" + sig.signature);
  return sig;
}

}  // namespace queue_stats
