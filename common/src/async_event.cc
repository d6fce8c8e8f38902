#include "common/async_event.h"

namespace common {

namespace asio = boost::asio;

Task<bool> AsyncEvent::wait(const RequestContext& ctx, RequestContext::Clock::time_point deadline) {
  if (set_.load()) co_return true;
  timer_.expires_at(deadline);
  // The cancel hook and set()'s post both run on this executor, after this
  // coroutine has suspended in async_wait: neither can be lost.
  auto hook = ctx.onCancel([this] { timer_.cancel(); });
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return set_.load();
}

void AsyncEvent::set() {
  set_.store(true);
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

}  // namespace common
