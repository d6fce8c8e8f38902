// Maps a request to the API it addresses: discovery, health, OpenAPI,
// self-metrics, and the custom, external and resource metrics routes,
// after authenticating and authorizing it. Never throws: every failure
// becomes a Kubernetes Status answer.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apiservice/authentication.h"
#include "apiservice/authorization.h"
#include "apiservice/custom_metrics_provider.h"
#include "apiservice/external_metrics_provider.h"
#include "apiservice/http_types.h"
#include "apiservice/metrics_forwarder.h"
#include "apiservice/request_target.h"
#include "apiservice/resource_metrics_provider.h"
#include "apiservice/status.h"
#include "common/clock.h"
#include "common/coro.h"
#include "common/logger.h"
#include "common/request_context.h"

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
  const CustomMetricsProvider* custom = nullptr;
  const ExternalMetricsProvider* external = nullptr;
  const ResourceMetricsProvider* resourceMetrics = nullptr;  // metrics.k8s.io; may be null
  // Where custom and external metrics we do not serve go; may be null.
  const MetricsForwarder* forwarder = nullptr;
};

class Router {
 public:
  Router(Providers providers, RouterHooks hooks, std::string version, AccessControl access,
         const common::Clock& clock, common::Logger* log = nullptr);
  // `ctx` bounds every call the request makes (reviews, backend queries).
  common::Task<HttpResponse> handle(const HttpRequest& req,
                                    const common::RequestContext& ctx) const;

 private:
  using Query = std::map<std::string, std::string>;
  // Health, version, OpenAPI and /metrics: answered from memory.
  std::optional<HttpResponse> routeLocal(const HttpRequest& req, const std::string& path,
                                         std::string& routeName) const;
  common::Task<HttpResponse> route(const HttpRequest& req, const RequestTarget& target,
                                   std::string& routeName, const common::RequestContext& ctx) const;
  // /apis/{group}[/{version}[/...]] once the group is known to be served.
  common::Task<HttpResponse> routeGroup(const HttpRequest& req, const RequestTarget& target,
                                        std::string& routeName,
                                        const common::RequestContext& ctx) const;
  // /apis/{group}/{version}: ours and the upstreams' metrics.
  HttpResponse resourceList(const std::string& group, const std::string& version) const;
  common::Task<HttpResponse> routeExternal(const HttpRequest& req,
                                           const std::vector<std::string>& rest, const Query& query,
                                           std::string& routeName,
                                           const common::RequestContext& ctx) const;
  common::Task<HttpResponse> routeCustom(const HttpRequest& req, const std::string& version,
                                         const std::vector<std::string>& rest, const Query& query,
                                         std::string& routeName,
                                         const common::RequestContext& ctx) const;
  // A metric we do not serve goes to the forwarder first; `ours` answers
  // the rest, its 404 naming the upstreams that were asked.
  struct Forwardable {
    MetricsApi api;
    std::string version;
    std::string name;  // as discovery lists it
    bool servedHere;   // or nothing to forward to
  };
  common::Task<HttpResponse> answerOrForward(
      const Forwardable& f, const HttpRequest& req, std::string& routeName,
      const std::function<common::Task<HttpResponse>()>& ours,
      const common::RequestContext& ctx) const;
  common::Task<HttpResponse> routeResourceMetrics(const std::vector<std::string>& rest,
                                                  const Query& query,
                                                  const common::RequestContext& ctx) const;
  common::Task<void> checkAccess(const HttpRequest& req, const RequestTarget& target,
                                 const common::RequestContext& ctx) const;
  // The Status answer for a failure; 401 reasons go to the log only.
  HttpResponse failure(const StatusError& e, const HttpRequest& req) const;
  bool servesResourceMetrics() const;
  Providers providers_;
  RouterHooks hooks_;
  std::string version_;
  AccessControl access_;
  const common::Clock& clock_;
  common::Logger* log_;
};

}  // namespace apiservice
