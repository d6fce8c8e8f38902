// The queue-stats feed as the adapter sees it: options, status, and the
// source of feed data. The gRPC client itself lives in a module loaded only
// when --queue-stats-address is set, so an adapter without the feed does
// not carry gRPC's libraries in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapter/feed_data.h"
#include "apiservice/logger.h"

namespace adapter {

struct QueueStatsFeedOptions {
  std::string address;   // host:port; empty: no feed
  std::string caFile;    // TLS when set: verify queue-stats' certificate
  std::string certFile;  // client certificate (mTLS)
  std::string keyFile;
  std::chrono::milliseconds maxAge{std::chrono::minutes(2)};
};

struct FeedStatus {
  bool connected = false;
  uint64_t reconnects = 0;
  uint64_t updates = 0;
  std::string lastError;  // why the last stream ended (empty: none yet)
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

// Loads the feed module (metrics-adapter-queue-feed.so next to the binary)
// and starts the subscription. Throws std::runtime_error naming the module
// when it cannot be loaded, or the TLS file that cannot be read.
std::unique_ptr<FeedSource> loadQueueStatsFeed(const QueueStatsFeedOptions& opts,
                                               apiservice::Logger& log);

}  // namespace adapter
