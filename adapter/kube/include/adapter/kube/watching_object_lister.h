// The object lister of a real cluster: one watch-fed cache per resource,
// started on the first request that needs it. Until a cache has synced
// (its first LIST), requests for that resource LIST directly; after that
// they never do.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapter/kube/kube_api.h"
#include "adapter/kube/object_lister.h"
#include "adapter/kube/object_store.h"
#include "adapter/kube/resource_watch.h"
#include "common/logger.h"

namespace adapter {

// The path of a resource's collection: /api/v1/pods,
// /apis/apps/v1/namespaces/ns/deployments.
std::string collectionPath(const rules::ResourceInfo& r, const std::string& ns);

class WatchingObjectLister final : public ObjectLister {
 public:
  WatchingObjectLister(KubeApi& api, common::Logger& log, WatchOptions opts = {});
  ~WatchingObjectLister() override;
  common::Task<std::vector<std::string>> names(const ObjectQuery& q,
                                               const common::RequestContext& ctx) override;
  common::Task<std::vector<ObjectSummary>> objects(const ObjectQuery& q,
                                                   const common::RequestContext& ctx) override;
  // Objects cached, per resource (self-metrics).
  std::vector<std::pair<std::string, size_t>> cachedObjectsByResource() const;

 private:
  struct Cache {
    ObjectStore store;
    std::unique_ptr<ResourceWatch> watch;
  };
  // The cache for `r`, started if new; null while it has not synced.
  Cache* synced(const rules::ResourceInfo& r);
  common::Task<std::vector<KubeObject>> listDirect(const ObjectQuery& q,
                                                   const common::RequestContext& ctx);
  KubeApi& api_;
  common::Logger& log_;
  WatchOptions opts_;
  mutable std::mutex mu_;
  std::map<rules::GroupResource, std::unique_ptr<Cache>> caches_;
};

}  // namespace adapter
