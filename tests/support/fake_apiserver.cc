#include "fake_apiserver.h"

#include <sys/socket.h>
#include <atomic>

#include <utility>  // Boost 1.74 asio needs it first

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace testsupport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

std::string decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(decode(path.substr(i, j - i)));
    i = j;
  }
  return out;
}

std::map<std::string, std::string> queryOf(std::string_view q) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < q.size()) {
    size_t j = q.find('&', i);
    if (j == std::string_view::npos) j = q.size();
    auto kv = q.substr(i, j - i);
    auto eq = kv.find('=');
    out[decode(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(kv.substr(eq + 1));
    i = j + 1;
  }
  return out;
}

json status(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(' '));
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

// A minimal, independent label selector evaluator (the fake must not share
// the adapter's parser, or a bug there would hide here).
bool selectorMatches(const std::string& selector, const json& labels) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string cur;
  for (char c : selector) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  auto label = [&](const std::string& k) -> std::optional<std::string> {
    if (labels.is_object() && labels.contains(k)) return labels[k].get<std::string>();
    return std::nullopt;
  };
  for (std::string p : parts) {
    p = trim(p);
    if (p.empty()) continue;
    size_t pos;
    if ((pos = p.find(" notin ")) != std::string::npos ||
        (pos = p.find(" in ")) != std::string::npos) {
      bool notin = p.compare(pos, 7, " notin ") == 0;
      std::string key = trim(p.substr(0, pos));
      std::string set = p.substr(p.find('(') + 1, p.find(')') - p.find('(') - 1);
      std::set<std::string> values;
      std::stringstream ss(set);
      for (std::string v; std::getline(ss, v, ',');) values.insert(trim(v));
      auto v = label(key);
      bool in = v && values.count(*v);
      if (notin ? in : !in) return false;
    } else if ((pos = p.find("!=")) != std::string::npos) {
      auto v = label(trim(p.substr(0, pos)));
      if (v && *v == trim(p.substr(pos + 2))) return false;
    } else if ((pos = p.find('=')) != std::string::npos) {
      size_t vpos = p.compare(pos, 2, "==") == 0 ? pos + 2 : pos + 1;
      auto v = label(trim(p.substr(0, pos)));
      if (!v || *v != trim(p.substr(vpos))) return false;
    } else if (p[0] == '!') {
      if (label(trim(p.substr(1)))) return false;
    } else if (!label(p)) {
      return false;
    }
  }
  return true;
}

bool fieldsMatch(const std::string& selector, const json& obj) {
  if (selector.empty()) return true;
  std::stringstream ss(selector);
  for (std::string part; std::getline(ss, part, ',');) {
    auto eq = part.find('=');
    std::string k = part.substr(0, eq), v = part.substr(eq + 1);
    std::string have;
    if (k == "metadata.name")
      have = obj["metadata"].value("name", "");
    else if (k == "metadata.namespace")
      have = obj["metadata"].value("namespace", "");
    else if (k == "status.phase")
      have = obj.contains("status") ? obj["status"].value("phase", "") : "";
    else
      return false;
    if (have != v) return false;
  }
  return true;
}

using Stream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

struct FakeApiServer::Impl {
  TestCa serverCa{"fake-apiserver-ca"};
  TestCa frontProxyCa{"front-proxy-ca"};
  TestCa clientCa{"kubernetes-client-ca"};
  KeyPair serving;
  KeyPair frontProxyClient;
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  int port = 0;
  std::thread acceptThread;
  std::vector<std::thread> workers;
  std::vector<std::shared_ptr<Stream>> streams;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<ResourceType> types;  // a deque: registerType must not move what watches point at
  std::map<std::string, std::map<std::pair<std::string, std::string>, json>> objects;
  struct Event {
    int64_t rv;
    std::string plural;
    std::string type;
    json object;
  };
  std::vector<Event> events;
  int64_t rv = 1000;
  int64_t minRv = 0;
  bool compactHttp = false;
  int dropGeneration = 0;
  std::chrono::milliseconds bookmarkInterval{1000};
  std::map<std::string, FakeUser> tokens;
  Policy policy;
  std::map<std::pair<std::string, std::string>, int> apiServices;
  std::map<std::string, int> lists, watches;
  std::map<std::string, std::chrono::milliseconds> listDelays;
  int tokenReviews = 0, accessReviews = 0;
  std::vector<json> accessReviewSpecs;
  std::vector<std::string> requestLog;

  const ResourceType* type(const std::string& plural) const {
    for (const auto& t : types)
      if (t.plural == plural) return &t;
    return nullptr;
  }
  const ResourceType* type(const std::string& group, const std::string& version,
                           const std::string& plural) const {
    for (const auto& t : types)
      if (t.group == group && t.version == version && t.plural == plural) return &t;
    return nullptr;
  }

  void record(const std::string& plural, const std::string& evType, const json& obj) {
    events.push_back({rv, plural, evType, obj});
    cv.notify_all();
  }

  // --- discovery -----------------------------------------------------
  json resourceList(const std::string& group, const std::string& version) const {
    json list = json::array();
    for (const auto& t : types) {
      if (t.group != group || t.version != version) continue;
      list.push_back({{"name", t.plural},
                      {"singularName", t.singular},
                      {"namespaced", t.namespaced},
                      {"kind", t.kind},
                      {"verbs", {"create", "delete", "get", "list", "patch", "update", "watch"}},
                      {"shortNames", t.shortNames},
                      {"storageVersionHash", "aGFzaA=="}});
      // Subresources are listed too; clients must skip them.
      list.push_back({{"name", t.plural + "/status"},
                      {"singularName", ""},
                      {"namespaced", t.namespaced},
                      {"kind", t.kind},
                      {"verbs", {"get", "patch", "update"}}});
    }
    return {{"kind", "APIResourceList"},
            {"apiVersion", "v1"},
            {"groupVersion", group.empty() ? version : group + "/" + version},
            {"resources", list}};
  }

  json groupList() const {
    json groups = json::array();
    std::vector<std::pair<std::string, std::vector<std::string>>> seen;
    auto add = [&](const std::string& g, const std::string& v) {
      for (auto& [name, vs] : seen)
        if (name == g) {
          if (std::find(vs.begin(), vs.end(), v) == vs.end()) vs.push_back(v);
          return;
        }
      seen.push_back({g, {v}});
    };
    for (const auto& t : types)
      if (!t.group.empty()) add(t.group, t.version);
    for (const auto& [gv, port] : apiServices) add(gv.first, gv.second);
    for (const auto& [name, versions] : seen) {
      json vs = json::array();
      for (const auto& v : versions)
        vs.push_back({{"groupVersion", name + "/" + v}, {"version", v}});
      groups.push_back({{"name", name}, {"versions", vs}, {"preferredVersion", vs[0]}});
    }
    return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
  }
};

namespace {

http::response<http::string_body> reply(int code, const json& body) {
  http::response<http::string_body> res{static_cast<http::status>(code), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

std::optional<FakeUser> authenticate(FakeApiServer::Impl& s,
                                     const http::request<http::string_body>& req) {
  auto auth = std::string(req[http::field::authorization]);
  if (auth.rfind("Bearer ", 0) != 0) return std::nullopt;
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.tokens.find(auth.substr(7));
  if (it == s.tokens.end()) return std::nullopt;
  return it->second;
}

// kube-aggregator: forwards to the APIService backend as the caller.
http::response<http::string_body> proxy(FakeApiServer::Impl& s, int port,
                                        const http::request<http::string_body>& in,
                                        const FakeUser& user) {
  std::vector<std::pair<std::string, std::string>> headers{{"X-Remote-User", user.name}};
  for (const auto& g : user.groups) headers.emplace_back("X-Remote-Group", g);
  if (auto a = in[http::field::accept]; !a.empty()) headers.emplace_back("Accept", std::string(a));
  HttpsResult r;
  try {
    r = httpsRequest(port, std::string(in.target()), headers, &s.frontProxyClient);
  } catch (const std::exception& e) {
    return reply(503, status(503, "ServiceUnavailable",
                             std::string("error trying to reach service: ") + e.what()));
  }
  http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
  res.set(http::field::content_type, r.contentType.empty() ? "application/json" : r.contentType);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

void writeChunk(Stream& stream, const std::string& line) {
  asio::write(stream, http::make_chunk(asio::buffer(line)));
}

// Streams a watch; returns false when the connection must be closed.
bool serveWatch(FakeApiServer::Impl& s, Stream& stream, const std::string& plural,
                const std::string& ns, const std::map<std::string, std::string>& q) {
  int64_t since = 0;
  std::string rvParam = q.count("resourceVersion") ? q.at("resourceVersion") : "";
  bool bookmarks = q.count("allowWatchBookmarks") && q.at("allowWatchBookmarks") == "true";
  auto timeout =
      std::chrono::seconds(q.count("timeoutSeconds") ? std::stoi(q.at("timeoutSeconds")) : 1800);
  std::string fieldSel = q.count("fieldSelector") ? q.at("fieldSelector") : "";
  std::string labelSel = q.count("labelSelector") ? q.at("labelSelector") : "";
  const ResourceType* t;
  int dropAt;
  std::vector<json> initial;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.watches[plural];
    t = s.type(plural);
    dropAt = s.dropGeneration;
    if (!rvParam.empty() && rvParam != "0") {
      since = std::stoll(rvParam);
      if (since < s.minRv) {
        json gone =
            status(410, "Expired",
                   "too old resource version: " + rvParam + " (" + std::to_string(s.minRv) + ")");
        if (s.compactHttp) {
          http::write(stream, reply(410, gone));
          return true;
        }
        http::response<http::empty_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        http::write_header(stream, sr);
        writeChunk(stream, json{{"type", "ERROR"}, {"object", gone}}.dump() + "\n");
        asio::write(stream, http::make_chunk_last());
        return true;
      }
    } else {
      since = s.rv;
      for (const auto& [key, obj] : s.objects[plural]) initial.push_back(obj);
    }
  }
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  http::write_header(stream, sr);
  for (const auto& o : initial)
    writeChunk(stream, json{{"type", "ADDED"}, {"object", o}}.dump() + "\n");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto nextBookmark = std::chrono::steady_clock::now() + s.bookmarkInterval;
  while (true) {
    std::vector<std::string> lines;
    bool dropped = false, done = false;
    {
      std::unique_lock<std::mutex> lock(s.mu);
      s.cv.wait_until(lock, std::min(deadline, nextBookmark), [&] {
        return s.stopping || s.dropGeneration != dropAt ||
               (!s.events.empty() && s.events.back().rv > since);
      });
      dropped = s.stopping || s.dropGeneration != dropAt;
      auto it =
          std::upper_bound(s.events.begin(), s.events.end(), since,
                           [](int64_t v, const FakeApiServer::Impl::Event& e) { return v < e.rv; });
      for (; it != s.events.end(); ++it) {
        since = it->rv;
        if (it->plural != plural) continue;
        const json& md = it->object["metadata"];
        if (!ns.empty() && md.value("namespace", "") != ns) continue;
        if (!fieldsMatch(fieldSel, it->object)) continue;
        if (!labelSel.empty() && !selectorMatches(labelSel, md.value("labels", json::object())))
          continue;
        lines.push_back(json{{"type", it->type}, {"object", it->object}}.dump() + "\n");
      }
      auto now = std::chrono::steady_clock::now();
      if (bookmarks && now >= nextBookmark) {
        json bm = {{"kind", t ? t->kind : "Unknown"},
                   {"apiVersion", t && !t->group.empty() ? t->group + "/" + t->version : "v1"},
                   {"metadata", {{"resourceVersion", std::to_string(s.rv)}}}};
        since = std::max(since, s.rv);
        lines.push_back(json{{"type", "BOOKMARK"}, {"object", bm}}.dump() + "\n");
        nextBookmark = now + s.bookmarkInterval;
      }
      done = now >= deadline;
    }
    if (dropped) return false;
    for (const auto& l : lines) writeChunk(stream, l);
    if (done) {
      asio::write(stream, http::make_chunk_last());
      return true;
    }
  }
}

http::response<http::string_body> serveList(FakeApiServer::Impl& s, const ResourceType& t,
                                            const std::string& ns,
                                            const std::map<std::string, std::string>& q) {
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (auto it = s.listDelays.find(t.plural); it != s.listDelays.end()) delay = it->second;
  }
  std::this_thread::sleep_for(delay);
  std::lock_guard<std::mutex> lock(s.mu);
  ++s.lists[t.plural];
  std::string labelSel = q.count("labelSelector") ? q.at("labelSelector") : "";
  std::string fieldSel = q.count("fieldSelector") ? q.at("fieldSelector") : "";
  size_t limit = q.count("limit") ? std::stoul(q.at("limit")) : 0;
  size_t offset = 0;
  if (q.count("continue")) {
    const std::string& c = q.at("continue");
    auto colon = c.find(':');
    int64_t at = std::stoll(c.substr(0, colon));
    if (at < s.minRv)
      return reply(410, status(410, "Expired",
                               "The provided continue parameter is too old to display a consistent "
                               "list result. You can start a new list without the continue "
                               "parameter."));
    offset = std::stoul(c.substr(colon + 1));
  }
  std::vector<json> items;
  for (const auto& [key, obj] : s.objects[t.plural]) {
    if (!ns.empty() && key.first != ns) continue;
    if (!fieldsMatch(fieldSel, obj)) continue;
    if (!labelSel.empty() &&
        !selectorMatches(labelSel, obj["metadata"].value("labels", json::object())))
      continue;
    json item = obj;
    item.erase("kind");
    item.erase("apiVersion");
    items.push_back(std::move(item));
  }
  json page = json::array();
  size_t end = limit ? std::min(items.size(), offset + limit) : items.size();
  for (size_t i = offset; i < end; ++i) page.push_back(items[i]);
  json meta = {{"resourceVersion", std::to_string(s.rv)}};
  if (end < items.size()) {
    meta["continue"] = std::to_string(s.rv) + ":" + std::to_string(end);
    meta["remainingItemCount"] = items.size() - end;
  }
  return reply(200, {{"kind", t.kind + "List"},
                     {"apiVersion", t.group.empty() ? t.version : t.group + "/" + t.version},
                     {"metadata", meta},
                     {"items", page}});
}

http::response<http::string_body> review(FakeApiServer::Impl& s, const std::string& what,
                                         const std::string& body) {
  json in = json::parse(body, nullptr, false);
  if (!in.is_object() || !in.contains("spec"))
    return reply(400, status(400, "BadRequest", "no spec"));
  json out = in;
  std::lock_guard<std::mutex> lock(s.mu);
  if (what == "tokenreviews") {
    ++s.tokenReviews;
    auto it = s.tokens.find(in["spec"].value("token", ""));
    if (it == s.tokens.end()) {
      out["status"] = {{"authenticated", false}, {"error", "invalid bearer token"}};
    } else {
      out["status"] = {{"authenticated", true},
                       {"user", {{"username", it->second.name}, {"groups", it->second.groups}}}};
    }
  } else {
    ++s.accessReviews;
    s.accessReviewSpecs.push_back(in["spec"]);
    std::string reason;
    bool allowed = s.policy ? s.policy(in["spec"], reason) : false;
    out["status"] = {{"allowed", allowed}};
    if (!reason.empty()) out["status"]["reason"] = reason;
  }
  return reply(201, out);
}

// Returns false when the connection must be closed (a dropped watch).
bool handle(FakeApiServer::Impl& s, Stream& stream, http::request<http::string_body>& req) {
  std::string target(req.target());
  auto qpos = target.find('?');
  auto seg = segments(std::string_view(target).substr(0, qpos));
  auto q = qpos == std::string::npos ? std::map<std::string, std::string>{}
                                     : queryOf(std::string_view(target).substr(qpos + 1));
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.requestLog.push_back(std::string(req.method_string()) + " " + target);
  }
  auto send = [&](http::response<http::string_body> res) {
    res.keep_alive(req.keep_alive());
    http::write(stream, res);
    return true;
  };
  auto user = authenticate(s, req);
  if (!user) return send(reply(401, status(401, "Unauthorized", "Unauthorized")));

  if (req.method() == http::verb::post && seg.size() == 4 && seg[0] == "apis" &&
      (seg[3] == "tokenreviews" || seg[3] == "subjectaccessreviews")) {
    return send(review(s, seg[3], req.body()));
  }
  if (seg.size() >= 3 && seg[0] == "apis") {
    int port = 0;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      auto it = s.apiServices.find({seg[1], seg[2]});
      if (it != s.apiServices.end()) port = it->second;
    }
    if (port) return send(proxy(s, port, req, *user));
  }
  if (seg.size() == 1 && seg[0] == "version")
    return send(reply(200, {{"major", "1"},
                            {"minor", "30"},
                            {"gitVersion", "v1.30.0-fake"},
                            {"platform", "linux/amd64"}}));
  if (seg.size() == 1 && seg[0] == "api")
    return send(reply(200, {{"kind", "APIVersions"},
                            {"versions", {"v1"}},
                            {"serverAddressByClientCIDRs",
                             {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1"}}}}}));
  if (seg.size() == 1 && seg[0] == "apis") {
    std::lock_guard<std::mutex> lock(s.mu);
    return send(reply(200, s.groupList()));
  }
  if ((seg.size() == 2 && seg[0] == "api") || (seg.size() == 3 && seg[0] == "apis")) {
    std::lock_guard<std::mutex> lock(s.mu);
    std::string group = seg[0] == "api" ? "" : seg[1];
    std::string version = seg.back();
    bool known = false;
    for (const auto& t : s.types) known |= t.group == group && t.version == version;
    if (!known)
      return send(
          reply(404, status(404, "NotFound", "the server could not find the requested resource")));
    return send(reply(200, s.resourceList(group, version)));
  }
  // Resource paths: /api/v1/... or /apis/{g}/{v}/..., optionally namespaced.
  size_t base = seg.size() >= 2 && seg[0] == "api" ? 2 : 3;
  if (seg.size() <= base || (seg[0] != "api" && seg[0] != "apis"))
    return send(
        reply(404, status(404, "NotFound", "the server could not find the requested resource")));
  std::string group = seg[0] == "api" ? "" : seg[1];
  std::string version = seg[base - 1];
  std::vector<std::string> rest(seg.begin() + static_cast<long>(base), seg.end());
  std::string ns;
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  const ResourceType* t;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    t = s.type(group, version, rest[0]);
  }
  if (!t)
    return send(
        reply(404, status(404, "NotFound", "the server could not find the requested resource")));
  if (rest.size() == 1) {
    bool watch = q.count("watch") && (q.at("watch") == "1" || q.at("watch") == "true");
    if (watch) return serveWatch(s, stream, t->plural, ns, q);
    return send(serveList(s, *t, ns, q));
  }
  std::lock_guard<std::mutex> lock(s.mu);
  auto& objs = s.objects[t->plural];
  auto it = objs.find({t->namespaced ? ns : "", rest[1]});
  if (it == objs.end())
    return send(reply(404, status(404, "NotFound", t->plural + " \"" + rest[1] + "\" not found")));
  return send(reply(200, it->second));
}

}  // namespace

FakeApiServer::FakeApiServer() : impl_(std::make_shared<Impl>()) {
  auto& s = *impl_;
  CertOptions serving{"fake-apiserver"};
  serving.serverAuth = true;
  serving.clientAuth = false;
  serving.dnsNames = {"localhost", "kubernetes"};
  serving.ipAddresses = {"127.0.0.1"};
  s.serving = s.serverCa.issue(serving);
  s.frontProxyClient = s.frontProxyCa.issue({"front-proxy-client"});
  s.ctx.use_certificate_chain(asio::buffer(s.serving.certPem));
  s.ctx.use_private_key(asio::buffer(s.serving.keyPem), ssl::context::pem);
  s.types = {
      {"", "v1", "pods", "Pod", "pod", true, {"po"}},
      {"", "v1", "nodes", "Node", "node", false, {"no"}},
      {"", "v1", "namespaces", "Namespace", "namespace", false, {"ns"}},
      {"", "v1", "services", "Service", "service", true, {"svc"}},
      {"", "v1", "configmaps", "ConfigMap", "configmap", true, {"cm"}},
      {"apps", "v1", "deployments", "Deployment", "deployment", true, {"deploy"}},
      {"networking.k8s.io", "v1", "ingresses", "Ingress", "ingress", true, {"ing"}},
  };
  s.tokens[kAdapterToken] = {kAdapterUser, {"system:serviceaccounts", "system:authenticated"}};
  // kube-aggregator's identity for availability checks.
  s.tokens["aggregator-token"] = {"system:kube-aggregator", {"system:authenticated"}};
  upsert(
      "configmaps",
      {{"apiVersion", "v1"},
       {"kind", "ConfigMap"},
       {"metadata", {{"name", "extension-apiserver-authentication"}, {"namespace", "kube-system"}}},
       {"data",
        {{"client-ca-file", s.clientCa.pem()},
         {"requestheader-client-ca-file", s.frontProxyCa.pem()},
         {"requestheader-allowed-names", "[\"front-proxy-client\"]"},
         {"requestheader-username-headers", "[\"X-Remote-User\"]"},
         {"requestheader-group-headers", "[\"X-Remote-Group\"]"},
         {"requestheader-extra-headers-prefix", "[\"X-Remote-Extra-\"]"}}}});

  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  s.acceptor.open(ep.protocol());
  s.acceptor.bind(ep);
  s.acceptor.listen();
  s.port = s.acceptor.local_endpoint().port();
  s.acceptThread = std::thread([impl = impl_] {
    while (!impl->stopping) {
      tcp::socket sock(impl->ioc);
      boost::system::error_code ec;
      impl->acceptor.accept(sock, ec);
      if (ec) return;
      // A reply's header and body go out as separate TLS records: as
      // kube-apiserver (Go sets TCP_NODELAY), Nagle must not hold the second.
      sock.set_option(tcp::no_delay(true), ec);
      auto stream = std::make_shared<Stream>(beast::tcp_stream(std::move(sock)), impl->ctx);
      std::lock_guard<std::mutex> lock(impl->mu);
      impl->streams.push_back(stream);
      impl->workers.emplace_back([impl, stream] {
        boost::system::error_code e;
        stream->handshake(ssl::stream_base::server, e);
        if (e) return;
        beast::flat_buffer buf;
        while (!impl->stopping) {
          http::request<http::string_body> req;
          http::read(*stream, buf, req, e);
          if (e) return;
          bool keep;
          try {
            keep = handle(*impl, *stream, req) && req.keep_alive();
          } catch (const std::exception&) {
            keep = false;
          }
          if (!keep) {
            beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, e);
            return;
          }
        }
      });
    }
  });
}

FakeApiServer::~FakeApiServer() {
  auto& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.stopping = true;
    s.cv.notify_all();
  }
  ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);
  if (s.acceptThread.joinable()) s.acceptThread.join();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    boost::system::error_code ec;
    for (auto& st : s.streams)
      beast::get_lowest_layer(*st).socket().shutdown(tcp::socket::shutdown_both, ec);
  }
  for (auto& w : s.workers) w.join();
}

int FakeApiServer::port() const { return impl_->port; }
std::string FakeApiServer::url() const {
  return "https://127.0.0.1:" + std::to_string(impl_->port);
}
const TestCa& FakeApiServer::serverCa() const { return impl_->serverCa; }
const TestCa& FakeApiServer::frontProxyCa() const { return impl_->frontProxyCa; }
const TestCa& FakeApiServer::clientCa() const { return impl_->clientCa; }

std::string FakeApiServer::writeKubeconfig(const TempDir& dir, const std::string& name,
                                           const std::string& token) const {
  std::string ca = dir.file(name + "-ca.crt");
  writeFile(ca, impl_->serverCa.pem());
  std::string path = dir.file(name + ".kubeconfig");
  writeFile(path,
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
            "clusters:\n- name: fake\n  cluster:\n    server: " +
                url() + "\n    certificate-authority: " + ca +
                "\nusers:\n- name: u\n  user:\n    token: " + token +
                "\ncontexts:\n- name: fake\n  context: {cluster: fake, user: u}\n");
  return path;
}

void FakeApiServer::addToken(const std::string& token, FakeUser user) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->tokens[token] = std::move(user);
}

void FakeApiServer::setPolicy(Policy p) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->policy = std::move(p);
}

void FakeApiServer::registerType(const ResourceType& t) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->types.push_back(t);
}

void FakeApiServer::upsert(const std::string& plural, json object) {
  auto& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  const ResourceType* t = s.type(plural);
  if (!t) throw std::runtime_error("unknown resource " + plural);
  auto& md = object["metadata"];
  std::pair<std::string, std::string> key{t->namespaced ? md.value("namespace", "") : "",
                                          md.value("name", "")};
  auto& objs = s.objects[plural];
  bool fresh = !objs.count(key);
  md["resourceVersion"] = std::to_string(++s.rv);
  if (fresh) {
    md["uid"] = "uid-" + std::to_string(s.rv);
    md["creationTimestamp"] = "2026-01-01T00:00:00Z";
  } else {
    md["uid"] = objs[key]["metadata"]["uid"];
    md["creationTimestamp"] = objs[key]["metadata"]["creationTimestamp"];
  }
  object["kind"] = t->kind;
  object["apiVersion"] = t->group.empty() ? t->version : t->group + "/" + t->version;
  objs[key] = object;
  s.record(plural, fresh ? "ADDED" : "MODIFIED", object);
}

void FakeApiServer::remove(const std::string& plural, const std::string& ns,
                           const std::string& name) {
  auto& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  auto& objs = s.objects[plural];
  auto it = objs.find({ns, name});
  if (it == objs.end()) return;
  json obj = it->second;
  objs.erase(it);
  obj["metadata"]["resourceVersion"] = std::to_string(++s.rv);
  s.record(plural, "DELETED", obj);
}

json FakeApiServer::pod(const std::string& ns, const std::string& name,
                        const std::map<std::string, std::string>& labels,
                        const std::string& phase) {
  return {
      {"metadata",
       {{"name", name},
        {"namespace", ns},
        {"labels", labels},
        {"annotations", {{"kubectl.kubernetes.io/restartedAt", "2026-01-01T00:00:00Z"}}},
        {"ownerReferences",
         {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "rs"}}}}}},
      {"spec",
       {{"nodeName", "n1"},
        {"containers",
         {{{"name", "app"},
           {"image", "example/app:1"},
           {"resources", {{"requests", {{"cpu", "100m"}}}}}}}}}},
      {"status",
       {{"phase", phase},
        {"conditions", {{{"type", "Ready"}, {"status", phase == "Running" ? "True" : "False"}}}},
        {"podIP", "10.0.0.1"}}}};
}

json FakeApiServer::node(const std::string& name,
                         const std::map<std::string, std::string>& labels) {
  return {{"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", {{"podCIDR", "10.0.0.0/24"}}},
          {"status",
           {{"capacity", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}},
            {"allocatable", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

void FakeApiServer::dropWatches() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ++impl_->dropGeneration;
  impl_->cv.notify_all();
}

void FakeApiServer::compact(bool httpStatus) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->minRv = impl_->rv + 1;
  impl_->compactHttp = httpStatus;
  ++impl_->dropGeneration;  // open watches end, and must resume from an old version
  impl_->cv.notify_all();
}

void FakeApiServer::setBookmarkInterval(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->bookmarkInterval = d;
}

void FakeApiServer::setListDelay(const std::string& plural, std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->listDelays[plural] = d;
}

void FakeApiServer::registerApiService(const std::string& group, const std::string& version,
                                       int port) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->apiServices[{group, version}] = port;
}

HttpsResult FakeApiServer::probeApiService(const std::string& group, const std::string& version) {
  int port;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    port = impl_->apiServices.at({group, version});
  }
  return httpsRequest(
      port, "/apis/" + group + "/" + version,
      {{"X-Remote-User", "system:kube-aggregator"}, {"X-Remote-Group", "system:authenticated"}},
      &impl_->frontProxyClient);
}

int FakeApiServer::listCount(const std::string& plural) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->lists.find(plural);
  return it == impl_->lists.end() ? 0 : it->second;
}

int FakeApiServer::watchCount(const std::string& plural) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->watches.find(plural);
  return it == impl_->watches.end() ? 0 : it->second;
}

int FakeApiServer::tokenReviews() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->tokenReviews;
}

int FakeApiServer::accessReviews() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->accessReviews;
}

std::vector<json> FakeApiServer::accessReviewSpecs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->accessReviewSpecs;
}

std::vector<std::string> FakeApiServer::requestLog() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requestLog;
}

HttpsResult httpsRequest(int port, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const KeyPair* clientCert) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  if (clientCert) {
    ctx.use_certificate_chain(asio::buffer(clientCert->certPem));
    ctx.use_private_key(asio::buffer(clientCert->keyPem), ssl::context::pem);
  }
  Stream s(ioc, ctx);
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(s).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  s.handshake(ssl::stream_base::client);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.insert(k, v);
  http::write(s, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(64 << 20);
  http::read(s, buf, p);
  auto& res = p.get();
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::content_type])};
}

}  // namespace testsupport
