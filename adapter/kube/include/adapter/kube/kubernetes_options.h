// How the adapter reaches the cluster: kubeconfigs, client limits,
// discovery and delegated authentication and authorization, as
// kube-apiserver's flags name them (parsed by the app's flags).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "adapter/kube/authentication_source.h"

namespace adapter {

// The cluster connection: kubeconfigs, client limits, discovery and
// delegated authentication and authorization (kube-apiserver's flags).
struct KubernetesOptions {
  std::string listerKubeconfig;          // objects and discovery; empty: in-cluster
  std::string authenticationKubeconfig;  // TokenReview and the authentication ConfigMap
  std::string authorizationKubeconfig;   // SubjectAccessReview
  double qps = 20;
  int burst = 40;
  std::chrono::milliseconds discoveryInterval{std::chrono::minutes(1)};
  AuthenticationFlags authentication;
  std::chrono::milliseconds tokenCacheTtl{std::chrono::seconds(10)};
  std::chrono::milliseconds authorizedCacheTtl{std::chrono::seconds(10)};
  std::chrono::milliseconds unauthorizedCacheTtl{std::chrono::seconds(10)};
  std::vector<std::string> alwaysAllowPaths{"/healthz", "/readyz", "/livez"};
};

}  // namespace adapter
