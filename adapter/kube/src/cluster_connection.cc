#include "adapter/kube/cluster_connection.h"

#include "adapter/kube/builtin_resources.h"

namespace adapter {

std::unique_ptr<KubeClient> ClusterConnection::client(const std::string& kubeconfig,
                                                      const std::string& flag, double qps,
                                                      int burst) {
  KubeClientOptions o;
  o.qps = qps;
  o.burst = burst;
  return std::make_unique<KubeClient>(kubeConnection(kubeconfig, flag), o);
}

ClusterConnection::ClusterConnection(const KubernetesOptions& opts, const common::Clock& clock,
                                     common::Logger& log)
    : log_(log) {
  lister_ = client(opts.listerKubeconfig, "lister-kubeconfig", opts.qps, opts.burst);
  // Reviews are on the request path: kube-apiserver's own delegating
  // clients allow 200 per second (burst 400).
  authn_ = client(opts.authenticationKubeconfig, "authentication-kubeconfig", 200, 400);
  authz_ = client(opts.authorizationKubeconfig, "authorization-kubeconfig", 200, 400);
  tokenReviews_ = std::make_unique<KubeReviewTransport>(*authn_);
  accessReviews_ = std::make_unique<KubeReviewTransport>(*authz_);

  mapper_ = std::make_shared<DiscoveryResourceMapper>(builtinResourceTable());
  discovery_ =
      std::make_unique<DiscoveryRefresher>(*lister_, *mapper_, log, opts.discoveryInterval);
  objects_ = std::make_unique<WatchingObjectLister>(*lister_, log);

  authenticator_ = std::make_unique<apiservice::DelegatingAuthenticator>(
      tokenReviews_.get(), clock,
      apiservice::AuthenticatorOptions{opts.tokenCacheTtl.count(), 10000});
  authSource_ = std::make_unique<AuthenticationSource>(opts.authentication, *authenticator_, log);
  authSource_->loadFiles();

  apiservice::AuthorizerOptions az;
  az.allowedTtlMs = opts.authorizedCacheTtl.count();
  az.deniedTtlMs = opts.unauthorizedCacheTtl.count();
  authorizer_ = std::make_unique<apiservice::DelegatingAuthorizer>(*accessReviews_, clock, az);
}

ClusterConnection::~ClusterConnection() {
  if (authConfigMap_) authConfigMap_->stop();
  if (discovery_) discovery_->stop();
}

void ClusterConnection::start() {
  if (authSource_->needsConfigMap()) {
    authConfigMap_ = std::make_unique<ResourceWatch>(
        *authn_,
        WatchTarget{std::string("/api/v1/namespaces/") + kAuthConfigMapNamespace + "/configmaps",
                    std::string("metadata.name=") + kAuthConfigMapName,
                    std::string("configmaps/") + kAuthConfigMapName, true},
        *authSource_, log_);
    authConfigMap_->start();
  }
  if (!discovery_->refreshOnce())
    log_.warning("first API discovery failed; using the built-in resource table until it succeeds");
  discovery_->start();
  if (authConfigMap_ && !authConfigMap_->waitSynced(std::chrono::seconds(10))) {
    log_.warning(
        "the authentication ConfigMap is not loaded yet; requests relying on it get 401 "
        "until it is",
        {{"error", authConfigMap_->lastError()}});
  }
}

void ClusterConnection::tick() { authSource_->reloadFilesIfChanged(); }

}  // namespace adapter
