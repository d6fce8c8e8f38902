// The adapter's subscription to queue-stats' gRPC feed (queuestats.v1
// Watch): keeps the latest snapshot as external-metric series, reconnects
// with backoff, and says how old each value is so stale ones are refused.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapter/feed_data.h"
#include "apiservice/logger.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace adapter {

struct QueueStatsFeedOptions {
  std::string address;  // host:port; empty: no feed
  std::string caFile;   // TLS when set: verify queue-stats' certificate
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

class QueueStatsFeed final : public FeedSource {
 public:
  // Starts the subscription thread. Throws std::runtime_error when the TLS
  // files cannot be read.
  QueueStatsFeed(QueueStatsFeedOptions opts, apiservice::Logger& log);
  ~QueueStatsFeed();
  QueueStatsFeed(const QueueStatsFeed&) = delete;
  QueueStatsFeed& operator=(const QueueStatsFeed&) = delete;

  std::shared_ptr<const FeedData> current() const override;
  FeedStatus status() const override;

  struct Channel;

 private:
  void run();
  QueueStatsFeedOptions opts_;
  apiservice::Logger& log_;
  std::unique_ptr<Channel> channel_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* activeCall_ = nullptr;  // the open stream, cancelled on stop
  std::shared_ptr<const FeedData> data_;
  FeedStatus status_;
  std::thread thread_;
};

}  // namespace adapter
