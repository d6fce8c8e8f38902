#include "adapter/kube/resource_watch.h"

#include <random>

#include "common/percent_encoding.h"

namespace adapter {

ResourceWatch::ResourceWatch(KubeApi& api, WatchTarget target, WatchSink& sink, common::Logger& log,
                             WatchOptions opts)
    : api_(api), target_(std::move(target)), sink_(sink), log_(log), opts_(opts) {}

ResourceWatch::~ResourceWatch() { stop(); }

void ResourceWatch::start() {
  thread_ = std::thread([this] { loop(); });
}

void ResourceWatch::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  cancel_.cancel();
  if (thread_.joinable()) thread_.join();
}

bool ResourceWatch::waitSynced(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return synced_.load() || stopping_; }) && synced_;
}

std::string ResourceWatch::lastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lastError_;
}

std::string ResourceWatch::query(const std::string& extra) const {
  std::string q = "?" + extra;
  if (!target_.fieldSelector.empty())
    q += "&fieldSelector=" + common::percentEncode(target_.fieldSelector);
  return q;
}

std::string ResourceWatch::listAll() {
  std::vector<KubeObject> all;
  std::string cont, rv;
  do {
    std::string path =
        target_.listPath + query("limit=" + std::to_string(opts_.pageSize) +
                                 (cont.empty() ? "" : "&continue=" + common::percentEncode(cont)));
    ListPage page;
    int status = api_.stream(path, std::chrono::seconds(60), &cancel_,
                             [&](int st, common::HttpClient::BodyReader& read) {
                               page = parseListPage(st, read, target_.keepData);
                             });
    (void)status;
    for (auto& o : page.items) all.push_back(std::move(o));
    cont = page.continueToken;
    rv = page.resourceVersion;
  } while (!cont.empty());
  ++lists_;
  size_t n = all.size();
  sink_.replaceAll(std::move(all));
  {
    std::lock_guard<std::mutex> lock(mu_);
    synced_ = true;
    lastError_.clear();
  }
  cv_.notify_all();
  log_.v(1, "listed objects",
         {{"resource", target_.what}, {"objects", std::to_string(n)}, {"resourceVersion", rv}});
  return rv;
}

bool ResourceWatch::watchFrom(std::string& rv, size_t& events) {
  std::string path =
      target_.listPath +
      query("watch=1&allowWatchBookmarks=true&resourceVersion=" + common::percentEncode(rv) +
            "&timeoutSeconds=" + std::to_string(opts_.watchTimeout.count()));
  bool relist = false;
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.watchTimeout) +
                 std::chrono::seconds(30);
  api_.stream(path, timeout, &cancel_, [&](int status, common::HttpClient::BodyReader& read) {
    std::string buf;
    char chunk[16384];
    if (status != 200) {
      while (size_t n = read(chunk, sizeof chunk)) {
        buf.append(chunk, n);
        if (buf.size() > 65536) break;
      }
      KubeStatus st = parseStatus(buf);
      if (status == 410 || st.code == 410) {
        relist = true;
        return;
      }
      throw KubeError("WATCH " + target_.what + " failed: HTTP " + std::to_string(status) +
                      (st.message.empty() ? "" : ": " + st.message));
    }
    // Events are newline-delimited JSON objects, as kube-apiserver writes them.
    while (size_t n = read(chunk, sizeof chunk)) {
      buf.append(chunk, n);
      size_t start = 0;
      for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(buf.data() + start, nl - start);
        if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
        WatchEvent ev = parseWatchEvent(line, target_.keepData);
        if (ev.type == WatchEvent::Type::Error) {
          if (ev.status.code == 410) {
            relist = true;
            return;
          }
          throw KubeError("WATCH " + target_.what + ": error event: " +
                          std::to_string(ev.status.code) + " " + ev.status.message);
        }
        rv = ev.object.resourceVersion;
        ++events;
        if (ev.type != WatchEvent::Type::Bookmark) sink_.apply(ev.type, std::move(ev.object));
      }
      buf.erase(0, start);
    }
  });
  return !relist;
}

void ResourceWatch::sleepBackoff(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_; });
}

void ResourceWatch::loop() {
  std::mt19937 rng(std::random_device{}());
  auto backoff = opts_.initialBackoff;
  std::string rv;
  bool needList = true;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    auto started = std::chrono::steady_clock::now();
    size_t events = 0;
    try {
      if (needList) {
        rv = listAll();
        needList = false;
      }
      started = std::chrono::steady_clock::now();
      if (!watchFrom(rv, events)) {
        log_.v(1, "watch expired (410 Gone); listing again", {{"resource", target_.what}});
        needList = true;
        backoff = opts_.initialBackoff;
        continue;
      }
      // A watch the server ends at once, with nothing in it, is retried
      // after a pause rather than in a tight loop.
      if (events > 0 || std::chrono::steady_clock::now() - started > std::chrono::seconds(1)) {
        backoff = opts_.initialBackoff;
        continue;
      }
    } catch (const std::exception& e) {
      if (cancel_.cancelled()) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        lastError_ = e.what();
      }
      // A watch that was healthy before it broke starts the backoff over.
      if (events > 0 || std::chrono::steady_clock::now() - started > std::chrono::seconds(30))
        backoff = opts_.initialBackoff;
      log_.warning("watch failed; retrying", {{"resource", target_.what},
                                              {"error", e.what()},
                                              {"retryIn", std::to_string(backoff.count()) + "ms"}});
    }
    // Jitter so many adapters do not retry in step.
    std::uniform_real_distribution<double> jitter(1.0, 1.5);
    sleepBackoff(std::chrono::milliseconds(static_cast<int64_t>(backoff.count() * jitter(rng))));
    backoff = std::min(opts_.maxBackoff, backoff * 2);
  }
}

}  // namespace adapter
