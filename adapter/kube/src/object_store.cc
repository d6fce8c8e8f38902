#include "adapter/kube/object_store.h"

#include <algorithm>
#include <mutex>

namespace adapter {

ObjectStore::Id ObjectStore::intern(const std::string& s) {
  auto [it, fresh] = ids_.emplace(s, static_cast<Id>(strings_.size()));
  if (fresh) strings_.push_back(s);
  return it->second;
}

int64_t ObjectStore::lookup(const std::string& s) const {
  auto it = ids_.find(s);
  return it == ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

ObjectStore::Entry ObjectStore::entryFor(const KubeObject& o) {
  Entry e;
  e.running = o.phase == "Running";
  e.labels.reserve(o.labels.size());
  for (const auto& [k, v] : o.labels) e.labels.emplace_back(intern(k), intern(v));
  std::sort(e.labels.begin(), e.labels.end());
  return e;
}

void ObjectStore::replace(std::vector<KubeObject>&& objects) {
  // Built aside with a fresh string table, so strings of deleted objects
  // do not accumulate across relists.
  ObjectStore fresh;
  for (auto& o : objects) fresh.upsert(std::move(o));
  std::unique_lock lock(mu_);
  strings_ = std::move(fresh.strings_);
  ids_ = std::move(fresh.ids_);
  byNamespace_ = std::move(fresh.byNamespace_);
  count_ = fresh.count_;
}

void ObjectStore::upsert(KubeObject&& o) {
  std::unique_lock lock(mu_);
  Entry e = entryFor(o);
  auto& names = byNamespace_[intern(o.ns)];
  auto [it, inserted] = names.insert_or_assign(std::move(o.name), std::move(e));
  (void)it;
  if (inserted) ++count_;
  compactIfDue();
}

void ObjectStore::compactIfDue() {
  if (++mutations_ < std::max<size_t>(20000, 4 * count_)) return;
  mutations_ = 0;
  std::vector<std::string> strings;
  std::unordered_map<std::string, Id> ids;
  auto remap = [&](Id old) {
    auto [it, fresh] = ids.emplace(strings_[old], static_cast<Id>(strings.size()));
    if (fresh) strings.push_back(strings_[old]);
    return it->second;
  };
  std::unordered_map<Id, std::map<std::string, Entry>> byNamespace;
  for (auto& [nsId, names] : byNamespace_) {
    for (auto& [name, e] : names) {
      for (auto& [k, v] : e.labels) {
        k = remap(k);
        v = remap(v);
      }
      std::sort(e.labels.begin(), e.labels.end());
    }
    byNamespace.emplace(remap(nsId), std::move(names));
  }
  strings_ = std::move(strings);
  ids_ = std::move(ids);
  byNamespace_ = std::move(byNamespace);
}

void ObjectStore::erase(const KubeObject& o) {
  std::unique_lock lock(mu_);
  int64_t ns = lookup(o.ns);
  if (ns < 0) return;
  auto it = byNamespace_.find(static_cast<Id>(ns));
  if (it == byNamespace_.end()) return;
  if (it->second.erase(o.name)) --count_;
  if (it->second.empty()) byNamespace_.erase(it);
}

size_t ObjectStore::size() const {
  std::shared_lock lock(mu_);
  return count_;
}

std::vector<ObjectStore::CompiledRequirement> ObjectStore::compile(
    const rules::LabelSelector& sel) const {
  std::vector<CompiledRequirement> out;
  for (const auto& r : sel.requirements) {
    CompiledRequirement c{&r, lookup(r.key), {}};
    for (const auto& v : r.values) c.values.push_back(lookup(v));
    std::sort(c.values.begin(), c.values.end());
    out.push_back(std::move(c));
  }
  return out;
}

bool ObjectStore::matches(const Entry& e, const std::vector<CompiledRequirement>& reqs) const {
  using Op = rules::Requirement::Op;
  for (const auto& c : reqs) {
    const std::pair<Id, Id>* label = nullptr;
    if (c.key >= 0) {
      auto it = std::lower_bound(e.labels.begin(), e.labels.end(),
                                 std::pair<Id, Id>{static_cast<Id>(c.key), 0});
      if (it != e.labels.end() && it->first == static_cast<Id>(c.key)) label = &*it;
    }
    auto hasValue = [&] {
      return label && std::binary_search(c.values.begin(), c.values.end(),
                                         static_cast<int64_t>(label->second));
    };
    switch (c.req->op) {
      case Op::Equals:
      case Op::DoubleEquals:
      case Op::In:
        if (!hasValue()) return false;
        break;
      case Op::NotEquals:
      case Op::NotIn:
        if (hasValue()) return false;
        break;
      case Op::Exists:
        if (!label) return false;
        break;
      case Op::DoesNotExist:
        if (label) return false;
        break;
      case Op::GreaterThan:
      case Op::LessThan: {
        if (!label) return false;
        // Kubernetes compares these as integers.
        try {
          long long lv = std::stoll(strings_[label->second]), rv = std::stoll(c.req->values[0]);
          if (c.req->op == Op::GreaterThan ? !(lv > rv) : !(lv < rv)) return false;
        } catch (const std::exception&) {
          return false;
        }
        break;
      }
    }
  }
  return true;
}

template <class F>
void ObjectStore::forEach(const std::string& ns, const rules::LabelSelector& sel, bool runningOnly,
                          F&& f) const {
  auto reqs = compile(sel);
  auto visit = [&](Id nsId, const std::map<std::string, Entry>& names) {
    for (const auto& [name, e] : names) {
      if (runningOnly && !e.running) continue;
      if (matches(e, reqs)) f(nsId, name, e);
    }
  };
  if (!ns.empty()) {
    int64_t id = lookup(ns);
    if (id < 0) return;
    if (auto it = byNamespace_.find(static_cast<Id>(id)); it != byNamespace_.end())
      visit(it->first, it->second);
    return;
  }
  for (const auto& [nsId, names] : byNamespace_) visit(nsId, names);
}

std::vector<std::string> ObjectStore::names(const std::string& ns,
                                            const rules::LabelSelector& selector,
                                            bool runningPodsOnly) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  forEach(ns, selector, runningPodsOnly,
          [&](Id, const std::string& name, const Entry&) { out.push_back(name); });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ObjectSummary> ObjectStore::objects(const std::string& ns,
                                                const rules::LabelSelector& selector,
                                                bool runningPodsOnly) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectSummary> out;
  forEach(ns, selector, runningPodsOnly, [&](Id nsId, const std::string& name, const Entry& e) {
    ObjectSummary s{strings_[nsId], name, {}};
    for (const auto& [k, v] : e.labels) s.labels.emplace(strings_[k], strings_[v]);
    out.push_back(std::move(s));
  });
  std::sort(out.begin(), out.end(), [](const ObjectSummary& a, const ObjectSummary& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  return out;
}

}  // namespace adapter
