// One resource's objects as the adapter needs them to answer selector
// requests: namespace, name, labels and pod phase, with namespaces and label
// strings interned (a cached pod costs ~200 bytes, not the ~10 KB of its
// JSON). Many readers, one writer (the watch).
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapter/kube/kube_objects.h"
#include "adapter/kube/object_lister.h"
#include "rules/label_selector.h"

namespace adapter {

class ObjectStore final : public WatchSink {
 public:
  void replaceAll(std::vector<KubeObject>&& objects) override { replace(std::move(objects)); }
  void apply(WatchEvent::Type type, KubeObject&& object) override {
    if (type == WatchEvent::Type::Deleted)
      erase(object);
    else
      upsert(std::move(object));
  }
  // Everything a LIST returned, swapped in at once (readers never see a
  // half-filled store).
  void replace(std::vector<KubeObject>&& objects);
  void upsert(KubeObject&& object);
  void erase(const KubeObject& object);

  // Names in `ns` (empty: every namespace) matching `selector`, sorted.
  std::vector<std::string> names(const std::string& ns, const rules::LabelSelector& selector,
                                 bool runningPodsOnly) const;
  std::vector<ObjectSummary> objects(const std::string& ns, const rules::LabelSelector& selector,
                                     bool runningPodsOnly) const;
  size_t size() const;

 private:
  using Id = uint32_t;
  struct Entry {
    std::vector<std::pair<Id, Id>> labels;  // sorted by key id
    bool running = false;                   // status.phase == Running
  };
  // Each selector requirement with its strings resolved to ids.
  struct CompiledRequirement {
    const rules::Requirement* req;
    int64_t key;  // -1: no object has this key
    std::vector<int64_t> values;
  };
  Id intern(const std::string& s);
  // Label values come and go (pod-template-hash, job uids): every so often
  // the string table is rebuilt from the live objects.
  void compactIfDue();
  int64_t lookup(const std::string& s) const;
  Entry entryFor(const KubeObject& o);
  std::vector<CompiledRequirement> compile(const rules::LabelSelector& sel) const;
  bool matches(const Entry& e, const std::vector<CompiledRequirement>& reqs) const;
  template <class F>
  void forEach(const std::string& ns, const rules::LabelSelector& sel, bool runningOnly,
               F&& f) const;

  mutable std::shared_mutex mu_;
  std::vector<std::string> strings_;
  std::unordered_map<std::string, Id> ids_;
  std::unordered_map<Id, std::map<std::string, Entry>> byNamespace_;  // ns id -> name -> entry
  size_t count_ = 0;
  size_t mutations_ = 0;
};

}  // namespace adapter
