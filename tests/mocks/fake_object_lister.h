// Objects from a table instead of watch-fed caches: each object belongs to
// a resource (GroupResource::str(): "pods", "deployments.apps") and
// answers a query when its namespace, labels (the query's parsed
// selector) and, for running-pods queries, phase fit. Answers are sorted
// as the real listers sort them: names by name, objects by namespace and
// name. Records every query; can fail every query with a StatusError.
// Thread-safe.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "adapter/kube/object_lister.h"
#include "apiservice/status.h"
#include "rules/label_selector.h"

namespace mocks {

class FakeObjectLister final : public adapter::ObjectLister {
 public:
  // A query as it reached the lister.
  struct Query {
    std::string call;      // "names" or "objects"
    std::string resource;  // GroupResource::str()
    std::string ns;
    std::string selectorText;
    bool runningPodsOnly = false;
  };

  void add(const std::string& resource, const std::string& ns, const std::string& name,
           std::map<std::string, std::string> labels = {}, bool running = true) {
    std::lock_guard<std::mutex> lock(mu_);
    table_.push_back({resource, {ns, name, std::move(labels)}, running});
  }
  // Every query throws `error` (until heal()).
  void fail(const apiservice::StatusError& error) {
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = error;
  }
  void heal() {
    std::lock_guard<std::mutex> lock(mu_);
    failure_.reset();
  }

  std::vector<Query> queries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queries_;
  }
  size_t queryCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queries_.size();
  }

  common::Task<std::vector<std::string>> names(const adapter::ObjectQuery& q,
                                               const common::RequestContext&) override {
    std::vector<std::string> out;
    for (auto& o : select("names", q)) out.push_back(std::move(o.name));
    std::sort(out.begin(), out.end());
    co_return out;
  }
  common::Task<std::vector<adapter::ObjectSummary>> objects(
      const adapter::ObjectQuery& q, const common::RequestContext&) override {
    auto out = select("objects", q);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
    });
    co_return out;
  }

 private:
  struct Entry {
    std::string resource;
    adapter::ObjectSummary object;
    bool running = true;
  };
  std::vector<adapter::ObjectSummary> select(const char* call, const adapter::ObjectQuery& q) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string resource = q.resource ? q.resource->gr.str() : "";
    queries_.push_back({call, resource, q.ns, q.selectorText, q.runningPodsOnly});
    if (failure_) throw *failure_;
    bool namespaced = !q.resource || q.resource->namespaced;
    std::vector<adapter::ObjectSummary> out;
    for (const auto& e : table_) {
      if (e.resource != resource) continue;
      if (namespaced && !q.ns.empty() && e.object.ns != q.ns) continue;
      if (q.runningPodsOnly && !e.running) continue;
      if (!rules::selectorMatches(q.selector, e.object.labels)) continue;
      out.push_back(e.object);
    }
    return out;
  }
  mutable std::mutex mu_;
  std::vector<Entry> table_;
  std::optional<apiservice::StatusError> failure_;
  std::vector<Query> queries_;
};

}  // namespace mocks
