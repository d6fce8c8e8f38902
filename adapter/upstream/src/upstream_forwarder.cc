#include "adapter/upstream/upstream_forwarder.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

#include "apiservice/status.h"

namespace adapter {

using apiservice::ForwardOutcome;
using apiservice::HttpResponse;
using apiservice::MetricsApi;

namespace {

HttpResponse unavailable(const std::string& message) {
  HttpResponse r;
  r.status = 503;
  r.body = apiservice::statusJson(503, "ServiceUnavailable", message);
  return r;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

UpstreamForwarder::UpstreamForwarder(std::vector<const UpstreamServer*> servers,
                                     const UpstreamCatalog& catalog, Observe observe)
    : servers_(std::move(servers)), catalog_(catalog), observe_(std::move(observe)) {}

std::vector<ListedMetric> UpstreamForwarder::listed(MetricsApi api,
                                                    const std::string& version) const {
  auto listing = catalog_.current();
  std::vector<ListedMetric> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < servers_.size() && i < listing->byUpstream.size(); ++i) {
    if (servers_[i]->api() != api) continue;
    auto it = listing->byUpstream[i].find(version);
    if (it == listing->byUpstream[i].end()) continue;
    for (const auto& m : it->second.metrics)
      if (seen.insert(m.name).second) out.push_back(m);  // the first upstream's wins
  }
  return out;
}

std::vector<std::string> UpstreamForwarder::upstreamExternalMetrics() const {
  std::vector<std::string> out;
  for (auto& m : listed(MetricsApi::External, "v1beta1")) out.push_back(std::move(m.name));
  return out;
}

std::vector<apiservice::CustomMetricDescriptor> UpstreamForwarder::upstreamCustomMetrics(
    const std::string& version) const {
  std::vector<apiservice::CustomMetricDescriptor> out;
  for (const auto& m : listed(MetricsApi::Custom, version)) {
    auto slash = m.name.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == m.name.size()) continue;
    out.push_back({m.name.substr(0, slash), m.namespaced, m.name.substr(slash + 1)});
  }
  return out;
}

common::Task<UpstreamForwarder::Answer> UpstreamForwarder::call(
    const UpstreamServer& s, const apiservice::HttpRequest& req,
    const common::RequestContext& ctx) const {
  auto start = std::chrono::steady_clock::now();
  Answer out;
  std::optional<common::ClientResponse> res;
  try {
    res = co_await s.get(req.target, ctx);
  } catch (const UpstreamUnavailable& e) {
    out.failure = e.what();
  }
  if (observe_) {
    observe_(s.name(), res ? std::to_string(res->status) : "error",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (res) {
    HttpResponse r;
    r.status = res->status;
    if (!res->contentType.empty()) r.contentType = res->contentType;
    r.body = std::move(res->body);
    out.response = std::move(r);
  }
  co_return out;
}

common::Task<ForwardOutcome> UpstreamForwarder::forward(MetricsApi api, const std::string& version,
                                                        const std::string& name,
                                                        const apiservice::HttpRequest& req,
                                                        const common::RequestContext& ctx) const {
  auto listing = catalog_.current();
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i]->api() != api || !listing->lists(i, version, name)) continue;
    Answer a = co_await call(*servers_[i], req, ctx);
    if (!a.response) a.response = unavailable("metric \"" + name + "\" is served by " + a.failure);
    co_return ForwardOutcome{std::move(a.response), {}};
  }
  // No upstream lists the name (yet): ask each in turn.
  ForwardOutcome out;
  std::vector<std::string> failures;
  for (const UpstreamServer* s : servers_) {
    if (s->api() != api) continue;
    Answer a = co_await call(*s, req, ctx);
    if (a.response && a.response->status != 404)
      co_return ForwardOutcome{std::move(a.response), {}};
    if (a.response)
      out.asked.push_back(s->name());
    else
      failures.push_back(a.failure);
  }
  if (!failures.empty()) {
    out.answer = unavailable("metric \"" + name +
                             "\" is not served here and an upstream that may serve it did not "
                             "answer: " +
                             joined(failures));
  }
  co_return out;
}

}  // namespace adapter
