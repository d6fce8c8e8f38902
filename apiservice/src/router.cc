#include "apiservice/router.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "apiservice/api_json.h"
#include "apiservice/request_info.h"

namespace apiservice {

namespace {

// Names as Kubernetes allows them in paths; also keeps every name safe to
// place inside a PromQL string.
void checkName(const std::string& what, const std::string& v, bool allowStar = false) {
  if (allowStar && v == "*") return;
  bool ok = !v.empty() && v.size() <= 253 && v != "." && v != "..";
  for (char c : v) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_' || c == ':')) {
      ok = false;
    }
  }
  if (!ok) {
    throw StatusError::badRequest("invalid " + what + " \"" + v +
                                  "\": expected 1-253 characters from [A-Za-z0-9._:-]");
  }
}

HttpResponse json(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.contentType = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

}  // namespace

Router::Router(Providers providers, RouterHooks hooks, std::string version, AccessControl access,
               const common::Clock& clock, common::Logger* log)
    : providers_(providers),
      hooks_(std::move(hooks)),
      version_(std::move(version)),
      access_(std::move(access)),
      clock_(clock),
      log_(log) {}

common::Task<HttpResponse> Router::handle(const HttpRequest& req,
                                          const common::RequestContext& ctx) const {
  auto start = std::chrono::steady_clock::now();
  std::string routeName = "other";
  HttpResponse res;
  try {
    RequestTarget target = parseRequestTarget(req.target);
    res = co_await route(req, target, routeName, ctx);
  } catch (const StatusError& e) {
    res = failure(e, req);
  } catch (const common::RequestAborted& e) {
    // kube-apiserver's answer when a request outlives --request-timeout.
    res = failure(StatusError(504, "Timeout",
                              std::string("Timeout: request did not complete within the allotted "
                                          "timeout (") +
                                  e.what() + ")"),
                  req);
  } catch (const std::exception& e) {
    res = failure(StatusError::internal(std::string("internal error: ") + e.what()), req);
  }
  if (hooks_.observe) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    hooks_.observe(routeName, res.status, secs);
  }
  co_return res;
}

HttpResponse Router::failure(const StatusError& e, const HttpRequest& req) const {
  HttpResponse res;
  res.status = e.code();
  if (e.code() == 401) {
    // Why a credential failed helps an attacker; the operator reads it in the log.
    if (log_)
      log_->v(2, "request unauthenticated", {{"remote", req.remoteAddress}, {"reason", e.what()}});
    res.body = statusJson(401, "Unauthorized", "Unauthorized");
  } else {
    res.body = statusJson(e.code(), e.reason(), e.what());
  }
  return res;
}

namespace {
bool pathAllowed(const std::vector<std::string>& patterns, std::string_view path) {
  for (const auto& p : patterns) {
    if (!p.empty() && p.back() == '*') {
      if (path.substr(0, p.size() - 1) == std::string_view(p).substr(0, p.size() - 1)) return true;
    } else if (path == p) {
      return true;
    }
  }
  return false;
}
}  // namespace

common::Task<void> Router::checkAccess(const HttpRequest& req, const RequestTarget& target,
                                       const common::RequestContext& ctx) const {
  if (!access_.authenticator || pathAllowed(access_.alwaysAllowPaths, target.path)) co_return;
  UserInfo user = co_await access_.authenticator->authenticate(req, ctx);  // throws 401 / 503
  if (!access_.authorizer) co_return;
  RequestAttributes attrs = requestAttributes(req.method, target);
  Decision d = co_await access_.authorizer->authorize(user, attrs, ctx);
  if (log_ && log_->enabled(4)) {
    log_->v(4, d.allowed ? "request authorized" : "request denied",
            {{"user", user.name}, {"verb", attrs.verb}, {"path", attrs.path}});
  }
  if (!d.allowed) throw StatusError::forbidden(forbiddenMessage(user, attrs, d.reason));
}

bool Router::servesResourceMetrics() const {
  return providers_.resourceMetrics && providers_.resourceMetrics->servesResourceMetrics();
}

std::optional<HttpResponse> Router::routeLocal(const HttpRequest& req, const std::string& path,
                                               std::string& routeName) const {
  if (path == "/healthz" || path == "/livez") {
    routeName = "health";
    return text(200, "ok");
  }
  if (path == "/readyz") {
    routeName = "health";
    if (hooks_.ready && !hooks_.ready())
      return text(503, "not ready: no successful metrics discovery yet");
    return text(200, "ok");
  }
  if (req.method != "GET" && req.method != "HEAD") {
    throw StatusError::methodNotAllowed("method " + req.method +
                                        " is not allowed: this API is read-only (GET)");
  }
  if (path == "/metrics" && hooks_.metricsText) {
    routeName = "metrics";
    HttpResponse r = text(200, hooks_.metricsText());
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  if (path == "/version") {
    routeName = "version";
    return json(versionJson(version_));
  }
  if (path == "/openapi/v2") {
    routeName = "openapi";
    return json(openApiJson(version_));
  }
  return std::nullopt;
}

namespace {
// Metric values cannot be watched: kube-apiserver answers a watch on such a
// resource with 405 before anything else, so it is never authorized as one.
void refuseWatch(const RequestTarget& target) {
  auto w = target.query.find("watch");
  if (w == target.query.end() || (w->second != "true" && w->second != "1")) return;
  const auto& seg = target.segments;
  if (seg.size() < 4 || seg[0] != "apis") return;
  // {resource}/... or namespaces/{ns}/{resource}/...
  const std::string& resource = seg[3] == "namespaces" && seg.size() >= 6 ? seg[5] : seg[3];
  throw StatusError(
      405, "MethodNotAllowed",
      "watch is not supported on resources of kind \"" + resource + "." + seg[1] + "\"");
}
}  // namespace

common::Task<HttpResponse> Router::route(const HttpRequest& req, const RequestTarget& target,
                                         std::string& routeName,
                                         const common::RequestContext& ctx) const {
  const std::string& path = target.path;
  routeName = "denied";
  refuseWatch(target);
  co_await checkAccess(req, target, ctx);
  routeName = "other";
  if (auto local = routeLocal(req, path, routeName)) co_return std::move(*local);
  const auto& seg = target.segments;
  if (seg.empty() || seg[0] != "apis") {
    throw StatusError::notFound("the server could not find the requested resource " + path);
  }
  routeName = "discovery";
  if (seg.size() == 1) co_return json(apiGroupListJson(servesResourceMetrics()));
  co_return co_await routeGroup(req, target, routeName, ctx);
}

namespace {

// Ours first; an upstream's name we also serve is shadowed (ours wins).
std::vector<std::string> withUpstreamNames(std::vector<std::string> ours,
                                           const std::vector<std::string>& theirs) {
  ours.insert(ours.end(), theirs.begin(), theirs.end());
  std::sort(ours.begin(), ours.end());
  ours.erase(std::unique(ours.begin(), ours.end()), ours.end());
  return ours;
}

std::vector<CustomMetricDescriptor> withUpstreamDescriptors(
    std::vector<CustomMetricDescriptor> ours, const std::vector<CustomMetricDescriptor>& theirs) {
  std::set<std::string> seen;
  for (const auto& d : ours) seen.insert(d.resource + "/" + d.metric);
  for (const auto& d : theirs)
    if (seen.insert(d.resource + "/" + d.metric).second) ours.push_back(d);
  return ours;
}

// The 404 for a name neither we nor any upstream serve says who was asked.
StatusError notServedAnywhere(const StatusError& ours, const std::vector<std::string>& asked) {
  std::string who;
  for (const auto& a : asked) who += (who.empty() ? "" : ", ") + a;
  return StatusError(ours.code(), ours.reason(),
                     std::string(ours.what()) + "; upstreams asked, each answered 404: " + who);
}

}  // namespace

HttpResponse Router::resourceList(const std::string& group, const std::string& version) const {
  const MetricsForwarder* fwd = providers_.forwarder;
  if (group == kCustomGroup) {
    auto ours = providers_.custom->listCustomMetrics();
    if (fwd) ours = withUpstreamDescriptors(std::move(ours), fwd->upstreamCustomMetrics(version));
    return json(customResourceListJson(version, ours));
  }
  if (group == kExternalGroup) {
    auto ours = providers_.external->listExternalMetrics();
    if (fwd) ours = withUpstreamNames(std::move(ours), fwd->upstreamExternalMetrics());
    return json(externalResourceListJson(ours));
  }
  return json(resourceMetricsResourceListJson());
}

common::Task<HttpResponse> Router::routeGroup(const HttpRequest& req, const RequestTarget& target,
                                              std::string& routeName,
                                              const common::RequestContext& ctx) const {
  const auto& seg = target.segments;
  const std::string& group = seg[1];
  bool custom = group == kCustomGroup;
  bool external = group == kExternalGroup;
  bool resource = group == kResourceGroup && servesResourceMetrics();
  if (!custom && !external && !resource)
    throw StatusError::notFound("API group " + group + " is not served here");
  if (seg.size() == 2) co_return json(apiGroupJson(group));
  const std::string& version = seg[2];
  if (!(version == "v1beta1" || (custom && version == "v1beta2"))) {
    throw StatusError::notFound("version " + version + " of " + group + " is not served here");
  }
  if (seg.size() == 3) co_return resourceList(group, version);
  std::vector<std::string> rest(seg.begin() + 3, seg.end());
  if (resource) {
    routeName = "resource_metric";
    co_return co_await routeResourceMetrics(rest, target.query, ctx);
  }
  if (external) {
    routeName = "external_metric";
    co_return co_await routeExternal(req, rest, target.query, routeName, ctx);
  }
  routeName = "custom_metric";
  co_return co_await routeCustom(req, version, rest, target.query, routeName, ctx);
}

common::Task<HttpResponse> Router::routeExternal(const HttpRequest& req,
                                                 const std::vector<std::string>& rest,
                                                 const Query& query, std::string& routeName,
                                                 const common::RequestContext& ctx) const {
  if (rest.size() != 3 || rest[0] != "namespaces") {
    throw StatusError::notFound(std::string("external metrics are served at /apis/") +
                                kExternalGroup + "/v1beta1/namespaces/{namespace}/{metric}");
  }
  auto selector = query.find("labelSelector");
  ExternalMetricRequest er{rest[1], rest[2], selector == query.end() ? "" : selector->second};
  checkName("namespace", er.ns);
  checkName("metric name", er.metric);
  const Forwardable f{
      MetricsApi::External, "v1beta1", er.metric,
      !providers_.forwarder || providers_.external->servesExternalMetric(er.metric)};
  const std::function<common::Task<HttpResponse>()> ours = [&]() -> common::Task<HttpResponse> {
    co_return json(
        externalMetricValueListJson(co_await providers_.external->getExternalMetric(er, ctx)));
  };
  co_return co_await answerOrForward(f, req, routeName, ours, ctx);
}

common::Task<HttpResponse> Router::routeCustom(const HttpRequest& req, const std::string& version,
                                               const std::vector<std::string>& rest,
                                               const Query& query, std::string& routeName,
                                               const common::RequestContext& ctx) const {
  ObjectMetricRequest r;
  if (rest.size() == 5 && rest[0] == "namespaces") {
    r = {rest[2], rest[1], rest[3], rest[4], "", ""};
  } else if (rest.size() == 4 && rest[0] == "namespaces" && rest[2] == "metrics") {
    r = {"namespaces", "", rest[1], rest[3], "", ""};
  } else if (rest.size() == 3) {
    r = {rest[0], "", rest[1], rest[2], "", ""};
  } else {
    throw StatusError::notFound(
        "no such custom metrics path; expected namespaces/{ns}/{resource}/{name}/{metric}, "
        "{resource}/{name}/{metric} or namespaces/{ns}/metrics/{metric}");
  }
  if (!r.ns.empty()) checkName("namespace", r.ns);
  checkName("resource", r.resource);
  checkName("object name", r.name, /*allowStar=*/true);
  checkName("metric name", r.metric);
  if (auto it = query.find("labelSelector"); it != query.end()) r.labelSelector = it->second;
  if (auto it = query.find("metricLabelSelector"); it != query.end())
    r.metricLabelSelector = it->second;
  const Forwardable f{
      MetricsApi::Custom, version, r.resource + "/" + r.metric,
      !providers_.forwarder || providers_.custom->servesCustomMetric(r.resource, r.metric)};
  const std::function<common::Task<HttpResponse>()> ours = [&]() -> common::Task<HttpResponse> {
    co_return json(
        metricValueListJson(version, co_await providers_.custom->getObjectMetric(r, ctx)));
  };
  co_return co_await answerOrForward(f, req, routeName, ours, ctx);
}

common::Task<HttpResponse> Router::answerOrForward(
    const Forwardable& f, const HttpRequest& req, std::string& routeName,
    const std::function<common::Task<HttpResponse>()>& ours,
    const common::RequestContext& ctx) const {
  ForwardOutcome forwarded;
  if (!f.servedHere) {
    const std::string local = routeName;
    routeName = "forwarded_" + local;
    forwarded = co_await providers_.forwarder->forward(f.api, f.version, f.name, req, ctx);
    if (forwarded.answer) co_return std::move(*forwarded.answer);
    routeName = local;
  }
  // No throw inside a handler in a coroutine (see coro.h): the error is
  // kept and thrown after it.
  std::optional<HttpResponse> answer;
  std::optional<StatusError> failed;
  try {
    answer = co_await ours();
  } catch (const StatusError& e) {
    failed = e;
  }
  if (failed && failed->code() == 404 && !forwarded.asked.empty())
    throw notServedAnywhere(*failed, forwarded.asked);
  if (failed) throw *failed;
  co_return std::move(*answer);
}

common::Task<HttpResponse> Router::routeResourceMetrics(const std::vector<std::string>& rest,
                                                        const Query& query,
                                                        const common::RequestContext& ctx) const {
  if (auto f = query.find("fieldSelector"); f != query.end() && !f->second.empty()) {
    throw StatusError::badRequest(
        "fieldSelector is not supported by this metrics.k8s.io server; "
        "use labelSelector or request one object by name");
  }
  std::string selector;
  if (auto it = query.find("labelSelector"); it != query.end()) selector = it->second;
  const ResourceMetricsProvider& p = *providers_.resourceMetrics;
  int64_t now = clock_.nowMillis();
  // Named, never temporaries: GCC 12 may destroy a temporary argument of a
  // co_await'ed call twice.
  const std::string none;
  // nodes[/{name}], pods, namespaces/{ns}/pods[/{name}]
  if (rest[0] == "nodes" && rest.size() <= 2) {
    if (rest.size() == 1)
      co_return json(nodeMetricsListJson(co_await p.nodeMetrics(none, selector, ctx), now));
    checkName("node name", rest[1]);
    auto items = co_await p.nodeMetrics(rest[1], none, ctx);
    if (items.empty())
      throw StatusError::notFound("nodemetrics.metrics.k8s.io \"" + rest[1] + "\" not found");
    co_return json(nodeMetricsJson(items.front(), now));
  }
  if (rest[0] == "pods" && rest.size() == 1)
    co_return json(podMetricsListJson(co_await p.podMetrics(none, none, selector, ctx), now));
  if (rest[0] == "namespaces" && rest.size() >= 3 && rest.size() <= 4 && rest[2] == "pods") {
    checkName("namespace", rest[1]);
    if (rest.size() == 3)
      co_return json(podMetricsListJson(co_await p.podMetrics(rest[1], none, selector, ctx), now));
    checkName("pod name", rest[3]);
    auto items = co_await p.podMetrics(rest[1], rest[3], none, ctx);
    if (items.empty()) {
      throw StatusError::notFound("podmetrics.metrics.k8s.io \"" + rest[1] + "/" + rest[3] +
                                  "\" not found");
    }
    co_return json(podMetricsJson(items.front(), now));
  }
  throw StatusError::notFound(
      "no such metrics.k8s.io path; expected nodes[/{name}], pods or "
      "namespaces/{namespace}/pods[/{name}]");
}

}  // namespace apiservice
