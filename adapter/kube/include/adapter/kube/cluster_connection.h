// Everything the adapter takes from a real cluster, built and started
// together: Kubernetes clients (lister, authentication, authorization),
// discovery-backed resource names, the watch-fed object cache, delegated
// authentication (with the ConfigMap it follows) and authorization.
#pragma once

#include <memory>

#include "adapter/kube/authentication_source.h"
#include "adapter/kube/kube_client.h"
#include "adapter/kube/kube_discovery.h"
#include "adapter/kube/kubernetes_options.h"
#include "adapter/kube/watching_object_lister.h"
#include "apiservice/authentication.h"
#include "apiservice/authorization.h"
#include "common/clock.h"
#include "common/logger.h"

namespace adapter {

class ClusterConnection {
 public:
  // Throws KubeConfigError or std::runtime_error when a kubeconfig or a CA
  // file is unusable.
  ClusterConnection(const KubernetesOptions& opts, const common::Clock& clock, common::Logger& log);
  ~ClusterConnection();

  // Runs the first discovery (bounded wait), then the background refresh
  // and the authentication ConfigMap watch.
  void start();
  // Called every couple of seconds: re-reads CA files that changed.
  void tick();

  std::shared_ptr<DiscoveryResourceMapper> mapper() const { return mapper_; }
  WatchingObjectLister& objects() { return *objects_; }
  const apiservice::DelegatingAuthenticator& authenticator() const { return *authenticator_; }
  const apiservice::DelegatingAuthorizer& authorizer() const { return *authorizer_; }

 private:
  std::unique_ptr<KubeClient> client(const std::string& kubeconfig, const std::string& flag,
                                     double qps, int burst);
  common::Logger& log_;
  std::unique_ptr<KubeClient> lister_, authn_, authz_;
  std::unique_ptr<KubeReviewTransport> tokenReviews_, accessReviews_;
  std::shared_ptr<DiscoveryResourceMapper> mapper_;
  std::unique_ptr<DiscoveryRefresher> discovery_;
  std::unique_ptr<WatchingObjectLister> objects_;
  std::unique_ptr<apiservice::DelegatingAuthenticator> authenticator_;
  std::unique_ptr<AuthenticationSource> authSource_;
  std::unique_ptr<ResourceWatch> authConfigMap_;
  std::unique_ptr<apiservice::DelegatingAuthorizer> authorizer_;
};

}  // namespace adapter
