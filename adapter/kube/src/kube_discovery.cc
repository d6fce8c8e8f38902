#include "adapter/kube/kube_discovery.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/json_fields.h"

namespace adapter {

using nlohmann::json;

DiscoveryResourceMapper::DiscoveryResourceMapper(std::vector<rules::ResourceInfo> seed)
    : table_(std::make_shared<const rules::StaticResourceMapper>(seed)), last_(std::move(seed)) {}

std::optional<rules::ResourceInfo> DiscoveryResourceMapper::resolve(std::string_view name) const {
  return table_.load()->resolve(name);
}

namespace {
bool sameTable(const std::vector<rules::ResourceInfo>& a,
               const std::vector<rules::ResourceInfo>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto &x = a[i], &y = b[i];
    if (x.gr != y.gr || x.kind != y.kind || x.singular != y.singular || x.version != y.version ||
        x.namespaced != y.namespaced || x.shortNames != y.shortNames)
      return false;
  }
  return true;
}
}  // namespace

void DiscoveryResourceMapper::update(std::vector<rules::ResourceInfo> resources) {
  std::lock_guard<std::mutex> lock(updateMu_);
  if (sameTable(resources, last_)) return;
  table_.store(std::make_shared<const rules::StaticResourceMapper>(resources));
  last_ = std::move(resources);
  ++generation_;
}

size_t DiscoveryResourceMapper::size() const {
  std::lock_guard<std::mutex> lock(updateMu_);
  return last_.size();
}

std::vector<GroupVersionRef> parseApiGroupList(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("groups") || !j["groups"].is_array())
    throw KubeError("malformed APIGroupList from /apis");
  std::vector<GroupVersionRef> out;
  for (const auto& g : j["groups"]) {
    if (!g.is_object()) continue;
    std::string name = common::jsonString(g, "name");
    std::string version;
    if (g.contains("preferredVersion") && g["preferredVersion"].is_object())
      version = common::jsonString(g["preferredVersion"], "version");
    if (version.empty() && g.contains("versions") && g["versions"].is_array() &&
        !g["versions"].empty() && g["versions"][0].is_object())
      version = common::jsonString(g["versions"][0], "version");
    if (!name.empty() && !version.empty()) out.push_back({name, version});
  }
  return out;
}

std::vector<std::string> parseApiVersions(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("versions") || !j["versions"].is_array())
    throw KubeError("malformed APIVersions from /api");
  std::vector<std::string> out;
  for (const auto& v : j["versions"])
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::vector<rules::ResourceInfo> parseApiResourceList(const std::string& body,
                                                      const std::string& group,
                                                      const std::string& version) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("resources") || !j["resources"].is_array())
    throw KubeError("malformed APIResourceList for " +
                    (group.empty() ? version : group + "/" + version));
  std::vector<rules::ResourceInfo> out;
  for (const auto& r : j["resources"]) {
    if (!r.is_object()) continue;
    std::string name = common::jsonString(r, "name");
    if (name.empty() || name.find('/') != std::string::npos) continue;  // subresources
    rules::ResourceInfo info;
    info.gr = {group, name};
    info.kind = common::jsonString(r, "kind");
    info.singular = common::jsonString(r, "singularName");
    if (info.singular.empty()) {
      info.singular = info.kind;
      std::transform(info.singular.begin(), info.singular.end(), info.singular.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    info.version = version;
    info.namespaced = common::jsonBool(r, "namespaced");
    if (r.contains("shortNames") && r["shortNames"].is_array())
      for (const auto& s : r["shortNames"])
        if (s.is_string()) info.shortNames.push_back(s.get<std::string>());
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<rules::ResourceInfo> discoverResources(KubeApi& api,
                                                   const std::vector<rules::ResourceInfo>& previous,
                                                   common::Logger& log) {
  auto fetch = [&](const std::string& path) {
    KubeReply r = api.get(path);
    if (r.status != 200)
      throw KubeError("discovery: GET " + path + " answered HTTP " + std::to_string(r.status),
                      r.status);
    return r.body;
  };
  std::vector<rules::ResourceInfo> out;
  // The core group first: a bare "pods" means core pods.
  std::vector<std::string> coreVersions = parseApiVersions(fetch("/api"));
  if (!coreVersions.empty()) {
    auto core =
        parseApiResourceList(fetch("/api/" + coreVersions.front()), "", coreVersions.front());
    out.insert(out.end(), core.begin(), core.end());
  }
  // Then groups in the order /apis lists them (kube-apiserver's priority).
  for (const auto& g : parseApiGroupList(fetch("/apis"))) {
    // The metrics APIs describe metrics, not objects to attach metrics to.
    if (g.group == "custom.metrics.k8s.io" || g.group == "external.metrics.k8s.io" ||
        g.group == "metrics.k8s.io")
      continue;
    try {
      auto res =
          parseApiResourceList(fetch("/apis/" + g.group + "/" + g.version), g.group, g.version);
      out.insert(out.end(), res.begin(), res.end());
    } catch (const KubeError& e) {
      log.warning("discovery of an API group failed; keeping what was known of it",
                  {{"group", g.group}, {"error", e.what()}});
      for (const auto& p : previous)
        if (p.gr.group == g.group) out.push_back(p);
    }
  }
  return out;
}

DiscoveryRefresher::DiscoveryRefresher(KubeApi& api, DiscoveryResourceMapper& mapper,
                                       common::Logger& log, std::chrono::milliseconds interval)
    : api_(api), mapper_(mapper), log_(log), interval_(interval) {}

DiscoveryRefresher::~DiscoveryRefresher() { stop(); }

bool DiscoveryRefresher::refreshOnce() {
  try {
    auto found = discoverResources(api_, last_, log_);
    uint64_t before = mapper_.generation();
    last_ = found;
    mapper_.update(std::move(found));
    if (mapper_.generation() != before) {
      log_.info("API discovery found a new set of resources",
                {{"resources", std::to_string(last_.size())}});
    }
    succeeded_ = true;
    return true;
  } catch (const std::exception& e) {
    log_.error("API discovery failed; resources resolve as before", {{"error", e.what()}});
    return false;
  }
}

void DiscoveryRefresher::start() {
  thread_ = std::thread([this] {
    while (true) {
      std::unique_lock<std::mutex> lock(mu_);
      auto wait = succeeded_
                      ? interval_
                      : std::min<std::chrono::milliseconds>(interval_, std::chrono::seconds(5));
      if (cv_.wait_for(lock, wait, [&] { return stopping_; })) return;
      lock.unlock();
      refreshOnce();
    }
  });
}

void DiscoveryRefresher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace adapter
