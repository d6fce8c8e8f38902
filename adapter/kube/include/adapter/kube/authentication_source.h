// Where delegated authentication gets its CAs and header names: the
// --client-ca-file and --requestheader-* flags when given, otherwise what
// kube-apiserver publishes in kube-system/extension-apiserver-authentication
// (followed with a watch, so rotated CAs apply without a restart).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapter/kube/kube_objects.h"
#include "apiservice/authentication.h"
#include "common/logger.h"

namespace adapter {

struct AuthenticationFlags {
  std::string clientCAFile;
  std::string requestHeaderClientCAFile;
  std::vector<std::string> requestHeaderAllowedNames;
  std::vector<std::string> requestHeaderUsernameHeaders{"X-Remote-User"};
  std::vector<std::string> requestHeaderUidHeaders;
  std::vector<std::string> requestHeaderGroupHeaders{"X-Remote-Group"};
  std::vector<std::string> requestHeaderExtraHeadersPrefix{"X-Remote-Extra-"};
  bool skipLookup = false;  // --authentication-skip-lookup: never read the ConfigMap
};

inline constexpr const char* kAuthConfigMapNamespace = "kube-system";
inline constexpr const char* kAuthConfigMapName = "extension-apiserver-authentication";

class AuthenticationSource final : public WatchSink {
 public:
  AuthenticationSource(AuthenticationFlags flags, apiservice::DelegatingAuthenticator& authn,
                       common::Logger& log);
  // Whether the ConfigMap is needed (some part is not set by flags).
  bool needsConfigMap() const;
  // Loads the flag files; throws std::runtime_error when one is unusable.
  void loadFiles();
  // Re-reads flag files that changed; a broken file keeps the previous CA.
  void reloadFilesIfChanged();
  // The ConfigMap, from its watch.
  void replaceAll(std::vector<KubeObject>&& objects) override;
  void apply(WatchEvent::Type type, KubeObject&& object) override;
  // Applies ConfigMap data (exposed for tests).
  void applyConfigMapData(const std::map<std::string, std::string>& data);

 private:
  void publish();
  AuthenticationFlags flags_;
  apiservice::DelegatingAuthenticator& authn_;
  common::Logger& log_;
  std::mutex mu_;
  std::string clientCAStamp_, requestHeaderCAStamp_;
  std::shared_ptr<const apiservice::CertificatePool> fileClientCA_, fileRequestHeaderCA_;
  apiservice::AuthenticationConfig fromConfigMap_;
};

}  // namespace adapter
