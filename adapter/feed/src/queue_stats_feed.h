// The adapter's subscription to queue-stats' gRPC feed (queuestats.v1
// Watch): keeps the latest snapshot as external-metric series and
// reconnects with backoff. Built into the feed module (feed_module_loader.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapter/feed/feed_source.h"
#include "tls_files.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace adapter {

class QueueStatsFeed final : public FeedSource {
 public:
  // Starts the subscription thread. Throws std::runtime_error when the TLS
  // files cannot be read (or the key is not the certificate's). They are
  // re-read before each new stream when they change.
  QueueStatsFeed(QueueStatsFeedOptions opts, FeedLog log);
  ~QueueStatsFeed();
  QueueStatsFeed(const QueueStatsFeed&) = delete;
  QueueStatsFeed& operator=(const QueueStatsFeed&) = delete;

  std::shared_ptr<const FeedData> current() const override;
  FeedStatus status() const override;

  struct Channel;

 private:
  void run();
  std::unique_ptr<Channel> makeChannel() const;  // throws when the TLS files are unusable
  void reloadTlsIfChanged();
  QueueStatsFeedOptions opts_;
  FeedLog log_;
  TlsFiles tls_;
  std::string tlsStamp_;              // of the files channel_ was made from
  std::unique_ptr<Channel> channel_;  // replaced by the run thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* activeCall_ = nullptr;  // the open stream, cancelled on stop
  std::shared_ptr<const FeedData> data_;
  FeedStatus status_;
  std::thread thread_;
};

// The module's entry point, looked up by loadQueueStatsFeed.
extern "C" FeedSource* ma_queue_stats_feed_create(const QueueStatsFeedOptions* opts,
                                                  const FeedLog* log, std::string* error);

}  // namespace adapter
