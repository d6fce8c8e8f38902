#include "adapter/kube/authentication_source.h"

#include <nlohmann/json.hpp>

#include "common/file_stamp.h"

namespace adapter {

namespace {

std::shared_ptr<const apiservice::CertificatePool> loadPool(const std::string& file) {
  auto pem = common::readWholeFile(file);
  if (!pem) throw std::runtime_error("cannot read " + file);
  return apiservice::CertificatePool::fromPem(*pem, file);
}

// The ConfigMap stores lists as JSON arrays inside strings.
std::vector<std::string> jsonList(const std::map<std::string, std::string>& data,
                                  const std::string& key) {
  std::vector<std::string> out;
  auto it = data.find(key);
  if (it == data.end() || it->second.empty()) return out;
  auto j = nlohmann::json::parse(it->second, nullptr, false);
  if (!j.is_array()) throw std::runtime_error(key + " is not a JSON list");
  for (const auto& v : j)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

AuthenticationSource::AuthenticationSource(AuthenticationFlags flags,
                                           apiservice::DelegatingAuthenticator& authn,
                                           common::Logger& log)
    : flags_(std::move(flags)), authn_(authn), log_(log) {}

bool AuthenticationSource::needsConfigMap() const {
  return !flags_.skipLookup &&
         (flags_.clientCAFile.empty() || flags_.requestHeaderClientCAFile.empty());
}

void AuthenticationSource::loadFiles() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!flags_.clientCAFile.empty()) {
    clientCAStamp_ = common::fileStamp(flags_.clientCAFile);
    fileClientCA_ = loadPool(flags_.clientCAFile);
  }
  if (!flags_.requestHeaderClientCAFile.empty()) {
    requestHeaderCAStamp_ = common::fileStamp(flags_.requestHeaderClientCAFile);
    fileRequestHeaderCA_ = loadPool(flags_.requestHeaderClientCAFile);
  }
  publish();
}

void AuthenticationSource::reloadFilesIfChanged() {
  std::lock_guard<std::mutex> lock(mu_);
  bool changed = false;
  auto reload = [&](const std::string& file, std::string& stamp,
                    std::shared_ptr<const apiservice::CertificatePool>& pool) {
    if (file.empty()) return;
    std::string now = common::fileStamp(file);
    if (now == stamp) return;
    stamp = now;
    try {
      pool = loadPool(file);
      changed = true;
      log_.info("reloaded client CA bundle", {{"file", file}});
    } catch (const std::exception& e) {
      log_.error("client CA reload failed; keeping the previous bundle", {{"error", e.what()}});
    }
  };
  reload(flags_.clientCAFile, clientCAStamp_, fileClientCA_);
  reload(flags_.requestHeaderClientCAFile, requestHeaderCAStamp_, fileRequestHeaderCA_);
  if (changed) publish();
}

void AuthenticationSource::applyConfigMapData(const std::map<std::string, std::string>& data) {
  std::lock_guard<std::mutex> lock(mu_);
  apiservice::AuthenticationConfig next = fromConfigMap_;
  std::string source = std::string(kAuthConfigMapNamespace) + "/" + kAuthConfigMapName;
  try {
    if (auto it = data.find("client-ca-file"); it != data.end() && !it->second.empty())
      next.clientCA = apiservice::CertificatePool::fromPem(it->second, source + " client-ca-file");
    else
      next.clientCA = nullptr;
    auto& rh = next.requestHeader;
    if (auto it = data.find("requestheader-client-ca-file");
        it != data.end() && !it->second.empty()) {
      rh.clientCA = apiservice::CertificatePool::fromPem(it->second,
                                                         source + " requestheader-client-ca-file");
    } else {
      rh.clientCA = nullptr;
    }
    rh.allowedNames = jsonList(data, "requestheader-allowed-names");
    rh.usernameHeaders = jsonList(data, "requestheader-username-headers");
    rh.uidHeaders = jsonList(data, "requestheader-uid-headers");
    rh.groupHeaders = jsonList(data, "requestheader-group-headers");
    rh.extraHeaderPrefixes = jsonList(data, "requestheader-extra-headers-prefix");
  } catch (const std::exception& e) {
    log_.error("cannot use " + source + "; keeping the previous authentication settings",
               {{"error", e.what()}});
    return;
  }
  fromConfigMap_ = std::move(next);
  log_.info("authentication settings loaded from " + source,
            {{"clientCA", fromConfigMap_.clientCA ? "yes" : "no"},
             {"requestHeaderCA", fromConfigMap_.requestHeader.clientCA ? "yes" : "no"}});
  publish();
}

void AuthenticationSource::replaceAll(std::vector<KubeObject>&& objects) {
  for (auto& o : objects) {
    if (o.name == kAuthConfigMapName) return applyConfigMapData(o.data);
  }
  log_.warning(std::string("ConfigMap ") + kAuthConfigMapNamespace + "/" + kAuthConfigMapName +
               " not found; only flag-given authentication settings apply");
  applyConfigMapData({});
}

void AuthenticationSource::apply(WatchEvent::Type type, KubeObject&& object) {
  if (object.name != kAuthConfigMapName) return;
  applyConfigMapData(type == WatchEvent::Type::Deleted ? std::map<std::string, std::string>{}
                                                       : object.data);
}

void AuthenticationSource::publish() {
  apiservice::AuthenticationConfig cfg;
  // Each part comes from its flag when set, else from the ConfigMap.
  if (!flags_.requestHeaderClientCAFile.empty()) {
    cfg.requestHeader.clientCA = fileRequestHeaderCA_;
    cfg.requestHeader.allowedNames = flags_.requestHeaderAllowedNames;
    cfg.requestHeader.usernameHeaders = flags_.requestHeaderUsernameHeaders;
    cfg.requestHeader.uidHeaders = flags_.requestHeaderUidHeaders;
    cfg.requestHeader.groupHeaders = flags_.requestHeaderGroupHeaders;
    cfg.requestHeader.extraHeaderPrefixes = flags_.requestHeaderExtraHeadersPrefix;
  } else if (!flags_.skipLookup) {
    cfg.requestHeader = fromConfigMap_.requestHeader;
  } else {
    cfg.requestHeader.clientCA = nullptr;
  }
  if (!flags_.clientCAFile.empty())
    cfg.clientCA = fileClientCA_;
  else if (!flags_.skipLookup)
    cfg.clientCA = fromConfigMap_.clientCA;
  authn_.setConfig(std::move(cfg));
}

}  // namespace adapter
