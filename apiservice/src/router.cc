#include "apiservice/router.h"

#include <chrono>

#include "apiservice/api_json.h"
#include "apiservice/status.h"

namespace apiservice {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || hexValue(s[i + 1]) < 0 || hexValue(s[i + 2]) < 0) {
        throw StatusError::badRequest("malformed percent-encoding in \"" + std::string(s) + "\"");
      }
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

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

std::vector<std::string> decodePathSegments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(percentDecode(path.substr(i, j - i), false));
    i = j;
  }
  return out;
}

std::map<std::string, std::string> decodeQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= query.size()) {
    size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    std::string_view kv = query.substr(i, j - i);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string k = percentDecode(kv.substr(0, eq), true);
      std::string v = eq == std::string_view::npos ? "" : percentDecode(kv.substr(eq + 1), true);
      out.emplace(std::move(k), std::move(v));  // first value wins, as Go's Query().Get
    }
    i = j + 1;
  }
  return out;
}

Router::Router(const MetricsProvider& provider, RouterHooks hooks, std::string version)
    : provider_(provider), hooks_(std::move(hooks)), version_(std::move(version)) {}

HttpResponse Router::handle(const HttpRequest& req) const {
  auto start = std::chrono::steady_clock::now();
  std::string routeName = "other";
  HttpResponse res;
  try {
    res = route(req, routeName);
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

HttpResponse Router::route(const HttpRequest& req, std::string& routeName) const {
  std::string_view target = req.target;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  auto query = decodeQuery(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));

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
  auto seg = decodePathSegments(path);
  if (seg.empty() || seg[0] != "apis") {
    throw StatusError::notFound("the server could not find the requested resource " +
                                std::string(path));
  }
  routeName = "discovery";
  if (seg.size() == 1) return json(apiGroupListJson());
  const std::string& group = seg[1];
  bool custom = group == kCustomGroup;
  bool external = group == kExternalGroup;
  if (!custom && !external)
    throw StatusError::notFound("API group " + group + " is not served here");
  if (seg.size() == 2) return json(apiGroupJson(group));
  const std::string& version = seg[2];
  if (!(version == "v1beta1" || (custom && version == "v1beta2"))) {
    throw StatusError::notFound("version " + version + " of " + group + " is not served here");
  }
  if (seg.size() == 3) {
    if (custom) {
      auto list = provider_.listCustomMetrics();
      return json(customResourceListJson(version, list));
    }
    return json(externalResourceListJson(provider_.listExternalMetrics()));
  }
  std::vector<std::string> rest(seg.begin() + 3, seg.end());
  if (external) {
    routeName = "external_metric";
    if (rest.size() != 3 || rest[0] != "namespaces") {
      throw StatusError::notFound("external metrics are served at /apis/" + group +
                                  "/v1beta1/namespaces/{namespace}/{metric}");
    }
    ExternalMetricRequest er{rest[1], rest[2],
                             query.count("labelSelector") ? query["labelSelector"] : ""};
    checkName("namespace", er.ns);
    checkName("metric name", er.metric);
    return json(externalMetricValueListJson(provider_.getExternalMetric(er)));
  }
  routeName = "custom_metric";
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
  return json(metricValueListJson(version, provider_.getObjectMetric(r)));
}

}  // namespace apiservice
