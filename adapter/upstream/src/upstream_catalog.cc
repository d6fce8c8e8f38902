#include "adapter/upstream/upstream_catalog.h"

namespace adapter {

namespace {
constexpr size_t kShadowedNamesLogged = 10;
}

bool UpstreamListing::lists(size_t upstream, const std::string& version,
                            const std::string& name) const {
  if (upstream >= byUpstream.size()) return false;
  auto it = byUpstream[upstream].find(version);
  return it != byUpstream[upstream].end() && it->second.names.count(name) > 0;
}

const std::vector<std::string>& apiVersions(apiservice::MetricsApi api) {
  static const std::vector<std::string> custom{"v1beta1", "v1beta2"};
  static const std::vector<std::string> external{"v1beta1"};
  return api == apiservice::MetricsApi::Custom ? custom : external;
}

UpstreamCatalog::UpstreamCatalog(std::vector<const UpstreamServer*> servers, ServedHere servedHere,
                                 std::chrono::milliseconds interval, common::Logger& log)
    : servers_(std::move(servers)),
      servedHere_(std::move(servedHere)),
      interval_(interval),
      log_(log),
      listing_(std::make_shared<const UpstreamListing>(UpstreamListing{
          std::vector<std::map<std::string, UpstreamListing::Listed>>(servers_.size())})) {}

UpstreamCatalog::~UpstreamCatalog() { stop(); }

void UpstreamCatalog::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      refresh();
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void UpstreamCatalog::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_.cancel();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UpstreamCatalog::refresh() {
  auto next = std::make_shared<UpstreamListing>();
  next->byUpstream.resize(servers_.size());
  for (size_t i = 0; i < servers_.size(); ++i) {
    const UpstreamServer& s = *servers_[i];
    for (const auto& version : apiVersions(s.api())) {
      UpstreamListing::Listed listed;
      try {
        listed.metrics = s.discover(version, &cancel_);
      } catch (const std::exception& e) {
        if (cancel_.cancelled()) return;
        log_.warning(
            "upstream discovery failed: its metrics are left out of discovery until it answers",
            {{"upstream", s.name()}, {"version", version}, {"error", e.what()}});
        continue;
      }
      for (const auto& m : listed.metrics) listed.names.insert(m.name);
      if (version == apiVersions(s.api()).front()) logShadowed(s, listed);
      next->byUpstream[i].emplace(version, std::move(listed));
    }
  }
  listing_.store(std::move(next));
}

void UpstreamCatalog::logShadowed(const UpstreamServer& s, const UpstreamListing::Listed& listed) {
  if (!servedHere_) return;
  std::string names;
  size_t count = 0;
  for (const auto& m : listed.metrics) {
    if (!servedHere_(s.api(), m.name)) continue;
    if (++count <= kShadowedNamesLogged) names += (names.empty() ? "" : ",") + m.name;
  }
  if (count == 0) return;
  if (count > kShadowedNamesLogged) names += ",...";
  log_.warning("upstream metrics shadowed: these names are served here, not forwarded",
               {{"upstream", s.name()}, {"count", std::to_string(count)}, {"metrics", names}});
}

}  // namespace adapter
