// A bound on concurrent work (queries per backend): callers beyond it wait
// in order, each within its own request's deadline.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "common/async_event.h"
#include "common/coro.h"
#include "common/request_context.h"

namespace common {

class AsyncSemaphore {
 public:
  explicit AsyncSemaphore(size_t permits) : free_(permits), permits_(permits) {}
  AsyncSemaphore(const AsyncSemaphore&) = delete;
  AsyncSemaphore& operator=(const AsyncSemaphore&) = delete;

  // Held while the work runs; gives the permit back when destroyed.
  class Permit {
   public:
    explicit Permit(AsyncSemaphore* s) : s_(s) {}
    Permit(Permit&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Permit& operator=(Permit&&) = delete;
    ~Permit() {
      if (s_) s_->release();
    }

   private:
    AsyncSemaphore* s_;
  };

  // A permit, or nullopt when the request's deadline passed or its client
  // left before one was free.
  Task<std::optional<Permit>> acquire(const RequestContext& ctx);
  size_t permits() const { return permits_; }
  size_t inUse() const;
  size_t waiting() const;

 private:
  struct Waiter {
    std::shared_ptr<AsyncEvent> event;
    bool granted = false;
  };
  void release();
  mutable std::mutex mu_;
  size_t free_;
  size_t permits_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace common
