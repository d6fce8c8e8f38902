// Which objects a label selector picks: the seam between the providers
// and Kubernetes. The implementation keeps a watch-fed cache per resource,
// started on the first request that needs it, so requests never LIST.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapter/kube_client.h"
#include "adapter/object_store.h"
#include "adapter/resource_watch.h"
#include "apiservice/logger.h"
#include "rules/label_selector.h"
#include "rules/resource_mapper.h"

namespace adapter {

struct ObjectQuery {
  const rules::ResourceInfo* resource = nullptr;
  std::string ns;  // empty: every namespace (or a cluster-scoped resource)
  rules::LabelSelector selector;
  std::string selectorText;  // as the client sent it, for the uncached LIST
  bool runningPodsOnly = false;
};

class ObjectLister {
 public:
  virtual ~ObjectLister() = default;
  // Throw apiservice::StatusError when the objects cannot be listed.
  virtual std::vector<std::string> names(const ObjectQuery& q) = 0;
  virtual std::vector<ObjectSummary> objects(const ObjectQuery& q) = 0;
};

// The path of a resource's collection: /api/v1/pods,
// /apis/apps/v1/namespaces/ns/deployments.
std::string collectionPath(const rules::ResourceInfo& r, const std::string& ns);

class WatchingObjectLister final : public ObjectLister {
 public:
  WatchingObjectLister(KubeApi& api, apiservice::Logger& log, WatchOptions opts = {});
  ~WatchingObjectLister() override;
  std::vector<std::string> names(const ObjectQuery& q) override;
  std::vector<ObjectSummary> objects(const ObjectQuery& q) override;
  // Starts the cache for a resource now (pods and nodes for metrics.k8s.io).
  void prime(const rules::ResourceInfo& r);
  // Objects cached over every resource, and per resource.
  size_t cachedObjects() const;
  std::vector<std::pair<std::string, size_t>> cachedObjectsByResource() const;
  size_t watchedResources() const;
  // LISTs made by the caches plus uncached fallback LISTs.
  uint64_t listRequests() const;

 private:
  struct Cache {
    ObjectStore store;
    std::unique_ptr<ResourceWatch> watch;
  };
  // The cache for `r`, started if new; null while it has not synced.
  Cache* synced(const rules::ResourceInfo& r);
  std::vector<KubeObject> listDirect(const ObjectQuery& q);
  KubeApi& api_;
  apiservice::Logger& log_;
  WatchOptions opts_;
  mutable std::mutex mu_;
  std::map<rules::GroupResource, std::unique_ptr<Cache>> caches_;
  std::atomic<uint64_t> directLists_{0};
};

}  // namespace adapter
