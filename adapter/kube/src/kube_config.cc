#include "adapter/kube/kube_config.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

#include "common/file_stamp.h"

namespace adapter {

namespace {

std::string decodeBase64(const std::string& in, const std::string& what) {
  std::string clean;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  if (clean.size() % 4 != 0) throw KubeConfigError(what + " is not valid base64");
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) throw KubeConfigError(what + " is not valid base64");
  size_t pad = 0;
  if (!clean.empty() && clean.back() == '=') ++pad;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// The entry of a named list (clusters, users, contexts) called `name`.
YAML::Node named(const YAML::Node& list, const std::string& field, const std::string& name,
                 const std::string& file) {
  if (list && list.IsSequence()) {
    for (const auto& item : list) {
      if (item.IsMap() && item["name"] && item["name"].IsScalar() &&
          item["name"].Scalar() == name && item[field] && item[field].IsMap()) {
        return item[field];
      }
    }
  }
  throw KubeConfigError(file + ": no " + field + " named \"" + name + "\"");
}

std::string scalar(const YAML::Node& map, const char* key) {
  const YAML::Node n = map[key];
  return n && n.IsScalar() ? n.Scalar() : "";
}

}  // namespace

KubeConnection parseKubeconfig(const std::string& text, const std::string& path,
                               const std::string& context) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw KubeConfigError(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                          std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  if (!root.IsMap()) throw KubeConfigError(path + ": not a kubeconfig (expected a mapping)");
  std::string ctxName = context.empty() ? scalar(root, "current-context") : context;
  if (ctxName.empty())
    throw KubeConfigError(path + ": no current-context is set and no context was named");
  const YAML::Node ctx = named(root["contexts"], "context", ctxName, path);
  const YAML::Node cluster = named(root["clusters"], "cluster", scalar(ctx, "cluster"), path);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& p) {
    if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
    return (dir / p).string();
  };

  KubeConnection c;
  c.source = path;
  c.server = scalar(cluster, "server");
  if (c.server.empty())
    throw KubeConfigError(path + ": cluster \"" + scalar(ctx, "cluster") + "\" has no server");
  c.tls.caFile = resolve(scalar(cluster, "certificate-authority"));
  if (auto d = scalar(cluster, "certificate-authority-data"); !d.empty())
    c.tls.caPem = decodeBase64(d, path + ": certificate-authority-data");
  c.tls.insecureSkipVerify = scalar(cluster, "insecure-skip-tls-verify") == "true";
  c.tls.serverName = scalar(cluster, "tls-server-name");

  std::string userName = scalar(ctx, "user");
  if (!userName.empty()) {
    const YAML::Node user = named(root["users"], "user", userName, path);
    if (user["exec"] || user["auth-provider"]) {
      throw KubeConfigError(
          path + ": user \"" + userName +
          "\" uses an exec or auth-provider plugin, which is not supported; use a "
          "token, tokenFile or client certificate");
    }
    c.tls.certFile = resolve(scalar(user, "client-certificate"));
    c.tls.keyFile = resolve(scalar(user, "client-key"));
    if (auto d = scalar(user, "client-certificate-data"); !d.empty())
      c.tls.certPem = decodeBase64(d, path + ": client-certificate-data");
    if (auto d = scalar(user, "client-key-data"); !d.empty())
      c.tls.keyPem = decodeBase64(d, path + ": client-key-data");
    c.token = scalar(user, "token");
    c.tokenFile = resolve(scalar(user, "tokenFile"));
    if (!scalar(user, "username").empty())
      throw KubeConfigError(path + ": basic auth (username/password) is not supported");
  }
  return c;
}

KubeConnection loadKubeconfig(const std::string& path, const std::string& context) {
  auto text = common::readWholeFile(path);
  if (!text) throw KubeConfigError("cannot read kubeconfig " + path);
  return parseKubeconfig(*text, path, context);
}

KubeConnection inClusterConnection(const std::string& serviceAccountDir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    throw KubeConfigError(
        "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT are unset); give a kubeconfig "
        "with --lister-kubeconfig, --authentication-kubeconfig and "
        "--authorization-kubeconfig, or use --standalone");
  }
  KubeConnection c;
  c.source = "in-cluster";
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  c.server = "https://" + h + ":" + port;
  c.tokenFile = serviceAccountDir + "/token";
  c.tls.caFile = serviceAccountDir + "/ca.crt";
  if (!std::filesystem::exists(c.tokenFile))
    throw KubeConfigError("in-cluster: no service account token at " + c.tokenFile);
  return c;
}

KubeConnection kubeConnection(const std::string& path, const std::string& flag) {
  try {
    return path.empty() ? inClusterConnection() : loadKubeconfig(path);
  } catch (const KubeConfigError& e) {
    throw KubeConfigError("--" + flag + ": " + e.what());
  }
}

}  // namespace adapter
