#include "apiservice/router.h"

#include <chrono>

#include "apiservice/api_json.h"
#include "apiservice/request_info.h"
#include "apiservice/status.h"

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

HttpResponse Router::handle(const HttpRequest& req) const {
  auto start = std::chrono::steady_clock::now();
  std::string routeName = "other";
  HttpResponse res;
  try {
    RequestTarget target = parseRequestTarget(req.target);
    res = route(req, target, routeName);
  } catch (const StatusError& e) {
    res.status = e.code();
    res.body = statusJson(e.code(), e.reason(), e.what());
  } catch (const std::exception& e) {
    res.status = 500;
    res.body = statusJson(500, "InternalError", std::string("internal error: ") + e.what());
  }
  if (hooks_.observe) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    hooks_.observe(routeName, res.status, secs);
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

void Router::checkAccess(const HttpRequest& req, const RequestTarget& target) const {
  if (!access_.authenticator || pathAllowed(access_.alwaysAllowPaths, target.path)) return;
  UserInfo user = access_.authenticator->authenticate(req);  // throws 401 / 503
  if (!access_.authorizer) return;
  RequestAttributes attrs = requestAttributes(req.method, target);
  Decision d = access_.authorizer->authorize(user, attrs);
  if (log_ && log_->enabled(4)) {
    log_->v(4, d.allowed ? "request authorized" : "request denied",
            {{"user", user.name}, {"verb", attrs.verb}, {"path", attrs.path}});
  }
  if (!d.allowed) throw StatusError::forbidden(forbiddenMessage(user, attrs, d.reason));
}

bool Router::servesResourceMetrics() const {
  return providers_.resourceMetrics && providers_.resourceMetrics->servesResourceMetrics();
}

HttpResponse Router::route(const HttpRequest& req, const RequestTarget& target,
                           std::string& routeName) const {
  const std::string& path = target.path;
  routeName = "denied";
  checkAccess(req, target);
  routeName = "other";
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
  const auto& seg = target.segments;
  if (seg.empty() || seg[0] != "apis") {
    throw StatusError::notFound("the server could not find the requested resource " + path);
  }
  routeName = "discovery";
  if (seg.size() == 1) return json(apiGroupListJson(servesResourceMetrics()));
  return routeGroup(target, routeName);
}

HttpResponse Router::routeGroup(const RequestTarget& target, std::string& routeName) const {
  const auto& seg = target.segments;
  const std::string& group = seg[1];
  bool custom = group == kCustomGroup;
  bool external = group == kExternalGroup;
  bool resource = group == kResourceGroup && servesResourceMetrics();
  if (!custom && !external && !resource)
    throw StatusError::notFound("API group " + group + " is not served here");
  if (seg.size() == 2) return json(apiGroupJson(group));
  const std::string& version = seg[2];
  if (!(version == "v1beta1" || (custom && version == "v1beta2"))) {
    throw StatusError::notFound("version " + version + " of " + group + " is not served here");
  }
  if (seg.size() == 3) {
    if (custom)
      return json(customResourceListJson(version, providers_.custom->listCustomMetrics()));
    if (external) return json(externalResourceListJson(providers_.external->listExternalMetrics()));
    return json(resourceMetricsResourceListJson());
  }
  std::vector<std::string> rest(seg.begin() + 3, seg.end());
  if (resource) {
    routeName = "resource_metric";
    return routeResourceMetrics(rest, target.query);
  }
  if (external) {
    routeName = "external_metric";
    return routeExternal(rest, target.query);
  }
  routeName = "custom_metric";
  return routeCustom(version, rest, target.query);
}

HttpResponse Router::routeExternal(const std::vector<std::string>& rest,
                                   const std::map<std::string, std::string>& query) const {
  if (rest.size() != 3 || rest[0] != "namespaces") {
    throw StatusError::notFound(std::string("external metrics are served at /apis/") +
                                kExternalGroup + "/v1beta1/namespaces/{namespace}/{metric}");
  }
  auto selector = query.find("labelSelector");
  ExternalMetricRequest er{rest[1], rest[2], selector == query.end() ? "" : selector->second};
  checkName("namespace", er.ns);
  checkName("metric name", er.metric);
  return json(externalMetricValueListJson(providers_.external->getExternalMetric(er)));
}

HttpResponse Router::routeCustom(const std::string& version, const std::vector<std::string>& rest,
                                 const std::map<std::string, std::string>& query) const {
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
  return json(metricValueListJson(version, providers_.custom->getObjectMetric(r)));
}

HttpResponse Router::routeResourceMetrics(const std::vector<std::string>& rest,
                                          const std::map<std::string, std::string>& query) const {
  if (auto f = query.find("fieldSelector"); f != query.end() && !f->second.empty()) {
    throw StatusError::badRequest(
        "fieldSelector is not supported by this metrics.k8s.io server; "
        "use labelSelector or request one object by name");
  }
  std::string selector;
  if (auto it = query.find("labelSelector"); it != query.end()) selector = it->second;
  const ResourceMetricsProvider& p = *providers_.resourceMetrics;
  int64_t now = clock_.nowMillis();
  // nodes[/{name}], pods, namespaces/{ns}/pods[/{name}]
  if (rest[0] == "nodes" && rest.size() <= 2) {
    if (rest.size() == 1) return json(nodeMetricsListJson(p.nodeMetrics("", selector), now));
    checkName("node name", rest[1]);
    auto items = p.nodeMetrics(rest[1], "");
    if (items.empty())
      throw StatusError::notFound("nodemetrics.metrics.k8s.io \"" + rest[1] + "\" not found");
    return json(nodeMetricsJson(items.front(), now));
  }
  if (rest[0] == "pods" && rest.size() == 1)
    return json(podMetricsListJson(p.podMetrics("", "", selector), now));
  if (rest[0] == "namespaces" && rest.size() >= 3 && rest.size() <= 4 && rest[2] == "pods") {
    checkName("namespace", rest[1]);
    if (rest.size() == 3) return json(podMetricsListJson(p.podMetrics(rest[1], "", selector), now));
    checkName("pod name", rest[3]);
    auto items = p.podMetrics(rest[1], rest[3], "");
    if (items.empty()) {
      throw StatusError::notFound("podmetrics.metrics.k8s.io \"" + rest[1] + "/" + rest[3] +
                                  "\" not found");
    }
    return json(podMetricsJson(items.front(), now));
  }
  throw StatusError::notFound(
      "no such metrics.k8s.io path; expected nodes[/{name}], pods or "
      "namespaces/{namespace}/pods[/{name}]");
}

}  // namespace apiservice
