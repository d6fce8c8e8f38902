// Which objects a label selector picks: the seam between the providers
// and Kubernetes (watching_object_lister.h answers from watch-fed caches;
// tests use a fake).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/coro.h"
#include "common/request_context.h"
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

struct ObjectSummary {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> labels;
};

class ObjectLister {
 public:
  virtual ~ObjectLister() = default;
  // Throw apiservice::StatusError when the objects cannot be listed.
  // Names come sorted (callers binary-search them).
  // Coroutines: an uncached LIST is bounded by `ctx`.
  virtual common::Task<std::vector<std::string>> names(const ObjectQuery& q,
                                                       const common::RequestContext& ctx) = 0;
  virtual common::Task<std::vector<ObjectSummary>> objects(const ObjectQuery& q,
                                                           const common::RequestContext& ctx) = 0;
};

}  // namespace adapter
