// Identical concurrent calls (the same TokenReview, the same
// SubjectAccessReview) sent once: the first caller does the work, the
// others wait for its answer, each within its own deadline.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/async_event.h"
#include "common/coro.h"
#include "common/request_context.h"

namespace common {

template <class T>
class SingleFlight {
 public:
  // `work` runs once per key at a time; every caller gets its value or
  // its exception. A waiter whose deadline passes first gets RequestAborted.
  Task<T> run(const std::string& key, const RequestContext& ctx,
              const std::function<Task<T>()>& work) {
    auto executor = co_await boost::asio::this_coro::executor;
    std::shared_ptr<Flight> flight;
    std::shared_ptr<AsyncEvent> event;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& f = flights_[key];
      if (!f) {
        f = std::make_shared<Flight>();
        leader = true;
      } else {
        event = AsyncEvent::create(executor);
        f->waiters.push_back(event);
      }
      flight = f;
    }
    if (leader) co_return co_await lead(key, *flight, work);
    co_await event->wait(ctx, ctx.deadline());
    std::lock_guard<std::mutex> lock(mu_);
    if (!flight->done) {
      ctx.check("waiting for an identical call in flight");
      throw RequestAborted("waiting for an identical call in flight: woken early", false);
    }
    if (flight->error) std::rethrow_exception(flight->error);
    co_return *flight->value;
  }

  // Keys in flight now (for tests and self-metrics).
  size_t inFlight() const {
    std::lock_guard<std::mutex> lock(mu_);
    return flights_.size();
  }

 private:
  struct Flight {
    bool done = false;
    std::optional<T> value;
    std::exception_ptr error;
    std::vector<std::shared_ptr<AsyncEvent>> waiters;
  };

  Task<T> lead(const std::string& key, Flight& flight, const std::function<Task<T>()>& work) {
    std::optional<T> value;
    std::exception_ptr error;
    try {
      value = co_await work();
    } catch (...) {
      error = std::current_exception();
    }
    std::vector<std::shared_ptr<AsyncEvent>> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      flight.done = true;
      flight.value = value;
      flight.error = error;
      waiters.swap(flight.waiters);
      flights_.erase(key);
    }
    for (auto& w : waiters) w->set();
    if (error) std::rethrow_exception(error);
    co_return std::move(*value);
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace common
