#include "adapter/kube/watching_object_lister.h"

#include "apiservice/status.h"
#include "common/percent_encoding.h"

namespace adapter {

using apiservice::StatusError;

std::string collectionPath(const rules::ResourceInfo& r, const std::string& ns) {
  std::string p =
      r.gr.group.empty() ? "/api/" + r.version : "/apis/" + r.gr.group + "/" + r.version;
  if (!ns.empty() && r.namespaced) p += "/namespaces/" + ns;
  return p + "/" + r.gr.resource;
}

WatchingObjectLister::WatchingObjectLister(KubeApi& api, common::Logger& log, WatchOptions opts)
    : api_(api), log_(log), opts_(opts) {}

WatchingObjectLister::~WatchingObjectLister() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [gr, c] : caches_) c->watch->stop();
}

WatchingObjectLister::Cache* WatchingObjectLister::synced(const rules::ResourceInfo& r) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = caches_[r.gr];
  if (!c) {
    c = std::make_unique<Cache>();
    c->watch = std::make_unique<ResourceWatch>(
        api_, WatchTarget{collectionPath(r, ""), "", r.gr.str(), false}, c->store, log_, opts_);
    c->watch->start();
    log_.info("watching objects for label selectors", {{"resource", r.gr.str()}});
  }
  return c->watch->synced() ? c.get() : nullptr;
}

std::vector<KubeObject> WatchingObjectLister::listDirect(const ObjectQuery& q) {
  std::vector<KubeObject> out;
  std::string cont;
  std::string base = collectionPath(*q.resource, q.ns) + "?limit=500";
  if (!q.selectorText.empty()) base += "&labelSelector=" + common::percentEncode(q.selectorText);
  try {
    do {
      ListPage page;
      api_.stream(base + (cont.empty() ? "" : "&continue=" + common::percentEncode(cont)),
                  std::chrono::seconds(30), nullptr,
                  [&](int st, common::HttpClient::BodyReader& read) {
                    page = parseListPage(st, read, false);
                  });
      for (auto& o : page.items) out.push_back(std::move(o));
      cont = page.continueToken;
    } while (!cont.empty());
  } catch (const KubeError& e) {
    std::string what = "cannot list " + q.resource->gr.str() + " to evaluate the label selector: ";
    if (e.httpStatus() == 403) {
      throw StatusError::internal(what + e.what() +
                                  " (grant the adapter's service account get, list and watch on " +
                                  q.resource->gr.str() + ")");
    }
    throw StatusError::unavailable(what + e.what());
  }
  return out;
}

namespace {
bool keep(const KubeObject& o, const ObjectQuery& q) {
  if (q.runningPodsOnly && o.phase != "Running") return false;
  // The apiserver applied the selector; the namespace filter covers
  // cluster-wide lists of namespaced objects.
  return q.ns.empty() || o.ns == q.ns || !q.resource->namespaced;
}
}  // namespace

std::vector<std::string> WatchingObjectLister::names(const ObjectQuery& q) {
  if (Cache* c = synced(*q.resource))
    return c->store.names(q.resource->namespaced ? q.ns : "", q.selector, q.runningPodsOnly);
  std::vector<std::string> out;
  for (auto& o : listDirect(q))
    if (keep(o, q)) out.push_back(std::move(o.name));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ObjectSummary> WatchingObjectLister::objects(const ObjectQuery& q) {
  if (Cache* c = synced(*q.resource))
    return c->store.objects(q.resource->namespaced ? q.ns : "", q.selector, q.runningPodsOnly);
  std::vector<ObjectSummary> out;
  for (auto& o : listDirect(q)) {
    if (!keep(o, q)) continue;
    ObjectSummary s{std::move(o.ns), std::move(o.name), {}};
    for (auto& [k, v] : o.labels) s.labels.emplace(std::move(k), std::move(v));
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const ObjectSummary& a, const ObjectSummary& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  return out;
}

std::vector<std::pair<std::string, size_t>> WatchingObjectLister::cachedObjectsByResource() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, size_t>> out;
  for (const auto& [gr, c] : caches_) out.emplace_back(gr.str(), c->store.size());
  return out;
}

}  // namespace adapter
