// A one-shot signal: a coroutine waits for it (bounded by a deadline and
// its request's cancel), any thread sets it. The waiter's executor must
// be single-threaded (each serving thread has its own io_context).
#pragma once

#include <atomic>
#include <memory>

#include "common/coro.h"
#include "common/request_context.h"

namespace common {

class AsyncEvent : public std::enable_shared_from_this<AsyncEvent> {
 public:
  // Use create(): set() needs a shared owner to post to the waiter.
  explicit AsyncEvent(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}
  static std::shared_ptr<AsyncEvent> create(boost::asio::any_io_executor executor) {
    return std::make_shared<AsyncEvent>(std::move(executor));
  }

  // True once set; false when `deadline` passed or `ctx` was cancelled first.
  Task<bool> wait(const RequestContext& ctx, RequestContext::Clock::time_point deadline);
  // From any thread.
  void set();
  bool isSet() const { return set_.load(); }

 private:
  boost::asio::steady_timer timer_;
  std::atomic<bool> set_{false};
};

}  // namespace common
