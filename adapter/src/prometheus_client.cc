#include "adapter/prometheus_client.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace adapter {

namespace {

std::string seconds(int64_t ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return b;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BackendError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

HttpPrometheusClient::HttpPrometheusClient(PrometheusClientOptions opts)
    : opts_(std::move(opts)), http_(Url::parse(opts_.url), opts_.tls, opts_.timeout) {
  if (opts_.verb != "GET" && opts_.verb != "POST")
    throw BackendError("--prometheus-verb must be GET or POST");
}

std::string HttpPrometheusClient::authorization() {
  if (!opts_.tokenFile.empty()) {
    struct stat st {};
    std::string stamp;
    if (::stat(opts_.tokenFile.c_str(), &st) == 0) {
      stamp = std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
              std::to_string(st.st_size) + ":" + std::to_string(st.st_ino);
    }
    std::lock_guard<std::mutex> lock(authMu_);
    if (stamp != tokenStamp_ || token_.empty()) {
      token_ = readFile(opts_.tokenFile);
      tokenStamp_ = stamp;
    }
    return "Bearer " + token_;
  }
  if (!opts_.basicAuthUsername.empty()) {
    std::string pw =
        opts_.basicAuthPasswordFile.empty() ? "" : readFile(opts_.basicAuthPasswordFile);
    return "Basic " + base64(opts_.basicAuthUsername + ":" + pw);
  }
  return "";
}

ClientRequest HttpPrometheusClient::request(const std::string& path, const std::string& form) {
  ClientRequest r;
  bool post = opts_.verb == "POST" ||
              opts_.url.size() + path.size() + 1 + form.size() > opts_.maxGetUrlBytes;
  if (post) {
    r.method = "POST";
    r.target = path;
    r.body = form;
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    r.target = path + "?" + form;
  }
  for (const auto& h : opts_.headers) r.headers.push_back(h);
  if (auto auth = authorization(); !auth.empty()) r.headers.emplace_back("Authorization", auth);
  return r;
}

void HttpPrometheusClient::series(const std::string& match, int64_t startMs, int64_t endMs,
                                  const SeriesVisitor& visit) {
  std::string form =
      "match%5B%5D=" + formEncode(match) + "&start=" + seconds(startMs) + "&end=" + seconds(endMs);
  try {
    http_.stream(request("/api/v1/series", form), [&](int status, HttpClient::BodyReader& read) {
      parseSeriesResponse(status, read, visit);
    });
  } catch (const HttpClientError& e) {
    throw BackendError(std::string("Prometheus series discovery failed: ") + e.what(), true);
  }
}

std::vector<Sample> HttpPrometheusClient::query(const std::string& promql, int64_t timeMs) {
  std::string form = "query=" + formEncode(promql) + "&time=" + seconds(timeMs);
  ClientResponse res;
  try {
    res = http_.send(request("/api/v1/query", form));
  } catch (const HttpClientError& e) {
    throw BackendError(std::string("Prometheus query failed: ") + e.what(), true);
  }
  return parseQueryResponse(res.status, res.body);
}

}  // namespace adapter
