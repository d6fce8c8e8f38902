// Maps a request to the API it addresses: discovery, health, OpenAPI,
// self-metrics, and the custom, external and resource metrics routes,
// after authenticating and authorizing it. Never throws: every failure
// becomes a Kubernetes Status answer.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "apiservice/authentication.h"
#include "apiservice/authorization.h"
#include "apiservice/clock.h"
#include "apiservice/http_types.h"
#include "apiservice/logger.h"
#include "apiservice/metrics_provider.h"

namespace apiservice {

struct RouterHooks {
  std::function<bool()> ready;               // /readyz
  std::function<std::string()> metricsText;  // /metrics (Prometheus text)
  // Called once per request with a low-cardinality route name.
  std::function<void(const std::string& route, int code, double seconds)> observe;
};

// Who may call. Without an authenticator (--standalone) every request is
// served.
struct AccessControl {
  const Authenticator* authenticator = nullptr;
  const Authorizer* authorizer = nullptr;
  // Served without authentication or authorization; "/x/*" matches below /x/.
  std::vector<std::string> alwaysAllowPaths{"/healthz", "/readyz", "/livez"};
};

struct Providers {
  const MetricsProvider* metrics = nullptr;                  // custom and external
  const ResourceMetricsProvider* resourceMetrics = nullptr;  // metrics.k8s.io; may be null
};

class Router {
 public:
  Router(Providers providers, RouterHooks hooks, std::string version, AccessControl access,
         const Clock& clock, Logger* log = nullptr);
  HttpResponse handle(const HttpRequest& req) const;

 private:
  HttpResponse route(const HttpRequest& req, std::string& routeName) const;
  HttpResponse routeResourceMetrics(const std::vector<std::string>& rest,
                                    const std::map<std::string, std::string>& query) const;
  void checkAccess(const HttpRequest& req, std::string_view path) const;
  bool servesResourceMetrics() const;
  Providers providers_;
  RouterHooks hooks_;
  std::string version_;
  AccessControl access_;
  const Clock& clock_;
  Logger* log_;
};

// Splits a raw path into percent-decoded segments; throws StatusError 400
// on malformed escapes.
std::vector<std::string> decodePathSegments(std::string_view path);
// Decodes an application/x-www-form-urlencoded query string.
std::map<std::string, std::string> decodeQuery(std::string_view query);

}  // namespace apiservice
