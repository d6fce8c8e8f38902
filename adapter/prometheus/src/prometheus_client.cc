#include "adapter/prometheus/prometheus_client.h"

#include "common/file_stamp.h"
#include "common/percent_encoding.h"

#include <openssl/evp.h>

#include <cstdio>
#include <limits>

namespace adapter {

namespace {

std::string seconds(int64_t ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return b;
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
    : opts_(std::move(opts)),
      http_(common::Url::parse(opts_.url), opts_.tls, opts_.timeout),
      async_(common::Url::parse(opts_.url), opts_.tls,
             common::AsyncClientOptions{opts_.timeout, opts_.maxResponseBytes, 32}),
      inflight_(opts_.maxInflight ? opts_.maxInflight : std::numeric_limits<size_t>::max()) {
  // Token files rotate (projected service-account tokens): re-read when
  // they change.
  const std::string& file =
      !opts_.tokenFile.empty() ? opts_.tokenFile : opts_.basicAuthPasswordFile;
  if (!file.empty()) secret_ = std::make_unique<common::SecretFile>(file);
  if (opts_.verb != "GET" && opts_.verb != "POST")
    throw BackendError("--prometheus-verb must be GET or POST");
}

std::string HttpPrometheusClient::authorization() {
  if (opts_.tokenFile.empty() && opts_.basicAuthUsername.empty()) return "";
  std::string value;
  try {
    if (secret_) value = secret_->read();
  } catch (const common::SecretFileError& e) {
    throw BackendError(e.what());
  }
  return !opts_.tokenFile.empty() ? "Bearer " + value
                                  : "Basic " + base64(opts_.basicAuthUsername + ":" + value);
}

common::ClientRequest HttpPrometheusClient::request(const std::string& path,
                                                    const std::string& form) {
  common::ClientRequest r;
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
  std::string form = "match%5B%5D=" + common::percentEncode(match) + "&start=" + seconds(startMs) +
                     "&end=" + seconds(endMs);
  try {
    http_.stream(request("/api/v1/series", form),
                 [&](int status, common::HttpClient::BodyReader& read) {
                   parseSeriesResponse(status, read, visit);
                 });
  } catch (const common::HttpClientError& e) {
    throw BackendError(std::string("Prometheus series discovery failed: ") + e.what(), true);
  }
}

common::Task<std::vector<Sample>> HttpPrometheusClient::query(const std::string& promql,
                                                              int64_t timeMs,
                                                              const common::RequestContext& ctx) {
  std::string form = "query=" + common::percentEncode(promql) + "&time=" + seconds(timeMs);
  auto permit = co_await inflight_.acquire(ctx);
  // No permit before the deadline (or one handed over just as it passed):
  // the backend is saturated, a 503 rather than the request's timeout.
  if (!permit || ctx.expired()) {
    if (ctx.cancelled()) ctx.check("waiting for a Prometheus connection");
    throw BackendError("Prometheus query failed: " + std::to_string(inflight_.permits()) +
                           " queries to " + opts_.url +
                           " are already in flight (--prometheus-max-inflight)",
                       true);
  }
  common::ClientResponse res;
  try {
    const common::ClientRequest req = request("/api/v1/query", form);  // named: see coro.h
    res = co_await async_.send(req, ctx);
  } catch (const common::ResponseTooLarge& e) {
    throw BackendError(std::string("Prometheus query failed: ") + e.what() +
                       " (--prometheus-max-response-bytes)");
  } catch (const common::HttpClientError& e) {
    throw BackendError(std::string("Prometheus query failed: ") + e.what(), true);
  }
  co_return parseQueryResponse(res.status, res.body);
}

}  // namespace adapter
