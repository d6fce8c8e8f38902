// The queue-stats feed as the adapter sees it: options, status, and the
// source of feed data (an interface: the gRPC client lives in a module,
// feed_module_loader.h; tests use a fake).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapter/feed/feed_data.h"

namespace adapter {

struct QueueStatsFeedOptions {
  std::string address;  // host:port; empty: no feed
  // Re-read when they change, before the next connection.
  std::string caFile;    // TLS when set: verify queue-stats' certificate
  std::string certFile;  // client certificate (mTLS)
  std::string keyFile;
  std::chrono::milliseconds maxAge{std::chrono::minutes(2)};
};

struct FeedStatus {
  bool connected = false;
  uint64_t reconnects = 0;
  uint64_t updates = 0;
  std::string lastError;    // why the last stream ended (empty: none yet)
  uint64_t tlsReloads = 0;  // TLS files re-read after they changed
};

// Where the provider reads feed data from (a fake in unit tests).
class FeedSource {
 public:
  virtual ~FeedSource() = default;
  // Null until the first snapshot arrives.
  virtual std::shared_ptr<const FeedData> current() const = 0;
  virtual FeedStatus status() const = 0;
};

// How the feed logs: (warning?, message, error) -- plain values,
// so the module needs nothing from the adapter's binary.
using FeedLog =
    std::function<void(bool warning, const std::string& message, const std::string& error)>;

}  // namespace adapter
