// client-go's reflector: LIST (paged), then WATCH from the returned
// resourceVersion with bookmarks, relisting on 410 Gone and backing off on
// errors, feeding a WatchSink. One thread per watched resource.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "adapter/kube/kube_api.h"
#include "adapter/kube/kube_objects.h"
#include "common/logger.h"

namespace adapter {

struct WatchTarget {
  std::string listPath;       // e.g. /api/v1/pods, /apis/apps/v1/deployments
  std::string fieldSelector;  // optional, e.g. metadata.name=extension-apiserver-authentication
  std::string what;           // "pods", for logs
  bool keepData = false;      // ConfigMap data
};

struct WatchOptions {
  std::chrono::seconds watchTimeout{300};  // the server ends each watch after this
  std::chrono::milliseconds initialBackoff{800};
  std::chrono::milliseconds maxBackoff{30000};
  int pageSize = 500;
};

class ResourceWatch {
 public:
  ResourceWatch(KubeApi& api, WatchTarget target, WatchSink& sink, common::Logger& log,
                WatchOptions opts = {});
  ~ResourceWatch();
  ResourceWatch(const ResourceWatch&) = delete;
  ResourceWatch& operator=(const ResourceWatch&) = delete;

  void start();
  void stop();
  // Whether a LIST has completed (the sink holds a full copy).
  bool synced() const { return synced_.load(); }
  bool waitSynced(std::chrono::milliseconds timeout) const;
  std::string lastError() const;
  uint64_t listCount() const { return lists_.load(); }

 private:
  void loop();
  std::string listAll();  // returns the list's resourceVersion
  // Streams events from `rv`, counting them in `events`; returns false
  // when a relist is needed (410 Gone).
  bool watchFrom(std::string& rv, size_t& events);
  void sleepBackoff(std::chrono::milliseconds d);
  std::string query(const std::string& extra) const;

  KubeApi& api_;
  WatchTarget target_;
  WatchSink& sink_;
  common::Logger& log_;
  WatchOptions opts_;
  common::CancelToken cancel_;
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> lists_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  std::string lastError_;
  std::thread thread_;
};

}  // namespace adapter
