// Maps a request to the API it addresses: discovery, health, OpenAPI,
// self-metrics, and the custom and external metrics routes. Never throws:
// every failure becomes a Kubernetes Status answer.
#pragma once

#include <functional>
#include <string>

#include "apiservice/http_types.h"
#include "apiservice/metrics_provider.h"

namespace apiservice {

struct RouterHooks {
  std::function<bool()> ready;               // /readyz
  std::function<std::string()> metricsText;  // /metrics (Prometheus text)
  // Called once per request with a low-cardinality route name.
  std::function<void(const std::string& route, int code, double seconds)> observe;
};

class Router {
 public:
  Router(const MetricsProvider& provider, RouterHooks hooks, std::string version);
  HttpResponse handle(const HttpRequest& req) const;

 private:
  HttpResponse route(const HttpRequest& req, std::string& routeName) const;
  const MetricsProvider& provider_;
  RouterHooks hooks_;
  std::string version_;
};

// Splits a raw path into percent-decoded segments; throws StatusError 400
// on malformed escapes.
std::vector<std::string> decodePathSegments(std::string_view path);
// Decodes an application/x-www-form-urlencoded query string.
std::map<std::string, std::string> decodeQuery(std::string_view query);

}  // namespace apiservice
