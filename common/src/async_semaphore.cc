#include "common/async_semaphore.h"

#include <algorithm>

namespace common {

Task<std::optional<AsyncSemaphore::Permit>> AsyncSemaphore::acquire(const RequestContext& ctx) {
  auto waiter = std::make_shared<Waiter>();
  waiter->event = AsyncEvent::create(co_await boost::asio::this_coro::executor);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_ > 0 && waiters_.empty()) {
      --free_;
      co_return Permit(this);
    }
    waiters_.push_back(waiter);
  }
  co_await waiter->event->wait(ctx, ctx.deadline());
  std::lock_guard<std::mutex> lock(mu_);
  // Granted just as the wait ended: the permit is ours either way.
  if (waiter->granted) co_return Permit(this);
  waiters_.erase(std::find(waiters_.begin(), waiters_.end(), waiter));
  co_return std::nullopt;
}

// Hands the permit straight to the oldest waiter, so a stream of new
// callers cannot starve those already waiting.
void AsyncSemaphore::release() {
  std::lock_guard<std::mutex> lock(mu_);
  if (waiters_.empty()) {
    ++free_;
    return;
  }
  auto w = std::move(waiters_.front());
  waiters_.pop_front();
  w->granted = true;
  w->event->set();
}

size_t AsyncSemaphore::inUse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return permits_ - free_;
}

size_t AsyncSemaphore::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

}  // namespace common
