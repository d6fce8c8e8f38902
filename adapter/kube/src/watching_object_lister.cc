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

namespace {
// Hands a whole answer to a parser that reads as it goes.
std::function<size_t(char*, size_t)> readerOf(const std::string& body) {
  return [&body, pos = size_t{0}](char* buf, size_t len) mutable {
    size_t n = std::min(len, body.size() - pos);
    std::copy_n(body.data() + pos, n, buf);
    pos += n;
    return n;
  };
}
}  // namespace

common::Task<std::vector<KubeObject>> WatchingObjectLister::listDirect(
    const ObjectQuery& q, const common::RequestContext& ctx) {
  std::vector<KubeObject> out;
  std::string cont;
  std::string base = collectionPath(*q.resource, q.ns) + "?limit=500";
  if (!q.selectorText.empty()) base += "&labelSelector=" + common::percentEncode(q.selectorText);
  std::string what = "cannot list " + q.resource->gr.str() + " to evaluate the label selector: ";
  try {
    do {
      // Named: GCC 12 may destroy a temporary argument of a co_await'ed call twice.
      const std::string method = "GET", body;
      const std::string path =
          base + (cont.empty() ? "" : "&continue=" + common::percentEncode(cont));
      KubeReply reply = co_await api_.send(method, path, body, ctx);
      ListPage page = parseListPage(reply.status, readerOf(reply.body), false);
      for (auto& o : page.items) out.push_back(std::move(o));
      cont = page.continueToken;
    } while (!cont.empty());
  } catch (const KubeError& e) {
    if (e.httpStatus() == 403) {
      throw StatusError::internal(what + e.what() +
                                  " (grant the adapter's service account get, list and watch on " +
                                  q.resource->gr.str() + ")");
    }
    throw StatusError::unavailable(what + e.what());
  }
  co_return out;
}

namespace {
bool keep(const KubeObject& o, const ObjectQuery& q) {
  if (q.runningPodsOnly && o.phase != "Running") return false;
  // The apiserver applied the selector; the namespace filter covers
  // cluster-wide lists of namespaced objects.
  return q.ns.empty() || o.ns == q.ns || !q.resource->namespaced;
}
}  // namespace

common::Task<std::vector<std::string>> WatchingObjectLister::names(
    const ObjectQuery& q, const common::RequestContext& ctx) {
  if (Cache* c = synced(*q.resource))
    co_return c->store.names(q.resource->namespaced ? q.ns : "", q.selector, q.runningPodsOnly);
  std::vector<std::string> out;
  for (auto& o : co_await listDirect(q, ctx))
    if (keep(o, q)) out.push_back(std::move(o.name));
  std::sort(out.begin(), out.end());
  co_return out;
}

common::Task<std::vector<ObjectSummary>> WatchingObjectLister::objects(
    const ObjectQuery& q, const common::RequestContext& ctx) {
  if (Cache* c = synced(*q.resource))
    co_return c->store.objects(q.resource->namespaced ? q.ns : "", q.selector, q.runningPodsOnly);
  std::vector<ObjectSummary> out;
  for (auto& o : co_await listDirect(q, ctx)) {
    if (!keep(o, q)) continue;
    ObjectSummary s{std::move(o.ns), std::move(o.name), {}};
    for (auto& [k, v] : o.labels) s.labels.emplace(std::move(k), std::move(v));
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const ObjectSummary& a, const ObjectSummary& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  co_return out;
}

std::vector<std::pair<std::string, size_t>> WatchingObjectLister::cachedObjectsByResource() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, size_t>> out;
  for (const auto& [gr, c] : caches_) out.emplace_back(gr.str(), c->store.size());
  return out;
}

}  // namespace adapter
