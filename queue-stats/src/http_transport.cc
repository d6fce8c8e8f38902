#include "queue_stats/http_transport.h"

#include <curl/curl.h>

#include <algorithm>

namespace queue_stats {

namespace {
size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// scheme://host:port of a URL, without userinfo: safe for messages.
std::string origin(const std::string& url) {
  auto start = url.find("//");
  start = start == std::string::npos ? 0 : start + 2;
  auto end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  auto at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, start) + authority;
}
}  // namespace

CurlTransport::CurlTransport(std::string caFile)
    : curl_(curl_easy_init()), caFile_(std::move(caFile)) {
  if (!curl_) throw TransportError("cannot initialise libcurl");
}

CurlTransport::~CurlTransport() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpReply CurlTransport::send(const HttpRequestSpec& req) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);  // keeps the connection cache
  HttpReply reply;
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  // libcurl would add "Expect: 100-continue" to POSTs; AWS does not need it.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (req.method == "POST" || req.method == "PUT" || !req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  // A total deadline (resolve, connect, TLS, answer); libcurl reads 0 as
  // "never", so a zero or negative timeout becomes the shortest one.
  long total = static_cast<long>(std::max<int64_t>(req.timeout.count(), 1));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(total, 3000L));
  // Without signals, a blocking resolver would ignore the deadline; the
  // threaded resolver (the distributions' libcurl) keeps it.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!caFile_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, caFile_.c_str());
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // The URL, not the headers: they may carry credentials.
    throw TransportError(origin(req.url) + ": " + (err[0] ? err : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  reply.status = static_cast<int>(status);
  return reply;
}

}  // namespace queue_stats
