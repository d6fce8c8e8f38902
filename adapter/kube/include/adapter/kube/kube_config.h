// Where kube-apiserver is and how to authenticate to it: a kubeconfig file
// (current or named context) or the in-cluster service account.
#pragma once

#include <stdexcept>
#include <string>

#include "common/http_client.h"

namespace adapter {

class KubeConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KubeConnection {
  std::string server;  // https://host:port[/prefix]
  common::TlsClientOptions tls;
  std::string token;      // a static bearer token
  std::string tokenFile;  // or a file, re-read when it changes (projected tokens rotate)
  std::string source;     // "in-cluster" or the kubeconfig path, for messages
};

// Parses kubeconfig YAML; relative file paths are relative to `path`'s
// folder. Throws KubeConfigError naming the file and what is wrong.
KubeConnection parseKubeconfig(const std::string& text, const std::string& path,
                               const std::string& context = "");
KubeConnection loadKubeconfig(const std::string& path, const std::string& context = "");

// The pod's service account: KUBERNETES_SERVICE_HOST/PORT, the token and
// CA under `serviceAccountDir`. Throws KubeConfigError outside a cluster.
KubeConnection inClusterConnection(
    const std::string& serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount");

// A kubeconfig when `path` is set, else the in-cluster service account.
KubeConnection kubeConnection(const std::string& path, const std::string& flag);

}  // namespace adapter
