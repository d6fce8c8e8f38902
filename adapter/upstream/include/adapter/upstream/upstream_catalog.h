// What each upstream's discovery listed, refreshed in the background
// (every --upstream-discovery-interval) and read by requests without
// waiting. An upstream that is down lists nothing until it answers again;
// our own discovery never fails because of it.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "adapter/upstream/upstream_server.h"
#include "common/http_client.h"
#include "common/logger.h"
#include "common/published.h"

namespace adapter {

// One refresh's result, per upstream (in the servers' order) and version.
struct UpstreamListing {
  struct Listed {
    std::vector<ListedMetric> metrics;
    std::unordered_set<std::string> names;
  };
  std::vector<std::map<std::string, Listed>> byUpstream;
  bool lists(size_t upstream, const std::string& version, const std::string& name) const;
};

// The versions an API's discovery is read for.
const std::vector<std::string>& apiVersions(apiservice::MetricsApi api);

class UpstreamCatalog {
 public:
  // Whether we serve a name ourselves (it shadows the upstream's).
  using ServedHere = std::function<bool(apiservice::MetricsApi, const std::string& name)>;
  UpstreamCatalog(std::vector<const UpstreamServer*> servers, ServedHere servedHere,
                  std::chrono::milliseconds interval, common::Logger& log);
  ~UpstreamCatalog();
  UpstreamCatalog(const UpstreamCatalog&) = delete;
  UpstreamCatalog& operator=(const UpstreamCatalog&) = delete;

  void start();    // the first refresh runs at once, on the refresh thread
  void stop();     // cancels a refresh in flight
  void refresh();  // one round, on the calling thread
  std::shared_ptr<const UpstreamListing> current() const { return listing_.load(); }

 private:
  void logShadowed(const UpstreamServer& s, const UpstreamListing::Listed& listed);
  std::vector<const UpstreamServer*> servers_;
  ServedHere servedHere_;
  std::chrono::milliseconds interval_;
  common::Logger& log_;
  common::Published<UpstreamListing> listing_;
  common::CancelToken cancel_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace adapter
