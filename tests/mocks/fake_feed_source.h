// The queue-stats feed without gRPC: the test publishes the data and sets
// the status the feed would report. Null data until the first publish().
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include "adapter/feed/feed_source.h"

namespace mocks {

class FakeFeedSource final : public adapter::FeedSource {
 public:
  void publish(std::shared_ptr<const adapter::FeedData> data) {
    std::lock_guard<std::mutex> lock(mu_);
    data_ = std::move(data);
  }
  void setStatus(adapter::FeedStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
  }

  std::shared_ptr<const adapter::FeedData> current() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }
  adapter::FeedStatus status() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const adapter::FeedData> data_;
  adapter::FeedStatus status_;
};

}  // namespace mocks
