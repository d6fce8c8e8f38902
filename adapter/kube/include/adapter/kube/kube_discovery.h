// Kubernetes resources as API discovery describes them (kind, plural,
// singular, short names, group, preferred version, scope), refreshed in
// the background so CRDs added later resolve without a restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "adapter/kube/kube_api.h"
#include "common/logger.h"
#include "common/published.h"
#include "rules/resource_mapper.h"

namespace adapter {

// Resolves against the newest discovery result; starts from a seed (the
// built-in table) until the first discovery succeeds.
class DiscoveryResourceMapper final : public rules::ResourceMapper {
 public:
  explicit DiscoveryResourceMapper(std::vector<rules::ResourceInfo> seed);
  std::optional<rules::ResourceInfo> resolve(std::string_view name) const override;
  // Publishes a new table; the generation grows only when it differs.
  void update(std::vector<rules::ResourceInfo> resources);
  uint64_t generation() const { return generation_.load(); }
  size_t size() const;

 private:
  common::Published<rules::StaticResourceMapper> table_;
  std::vector<rules::ResourceInfo> last_;
  mutable std::mutex updateMu_;
  std::atomic<uint64_t> generation_{0};
};

// One discovery pass: /api, /api/{v}, /apis, then each group's preferred
// version. A group that fails (an unavailable aggregated API) keeps what
// `previous` had for it. Throws KubeError when /api or /apis fail.
std::vector<rules::ResourceInfo> discoverResources(KubeApi& api,
                                                   const std::vector<rules::ResourceInfo>& previous,
                                                   common::Logger& log);

// Parsers for discovery documents (exposed for tests and fuzzing).
struct GroupVersionRef {
  std::string group;
  std::string version;  // the preferred one
};
std::vector<GroupVersionRef> parseApiGroupList(const std::string& body);
std::vector<std::string> parseApiVersions(const std::string& body);
std::vector<rules::ResourceInfo> parseApiResourceList(const std::string& body,
                                                      const std::string& group,
                                                      const std::string& version);

class DiscoveryRefresher {
 public:
  DiscoveryRefresher(KubeApi& api, DiscoveryResourceMapper& mapper, common::Logger& log,
                     std::chrono::milliseconds interval);
  ~DiscoveryRefresher();
  // Discovers now; false (logged) on failure.
  bool refreshOnce();
  void start();
  void stop();

 private:
  KubeApi& api_;
  DiscoveryResourceMapper& mapper_;
  common::Logger& log_;
  std::chrono::milliseconds interval_;
  std::vector<rules::ResourceInfo> last_;
  std::atomic<bool> succeeded_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace adapter
