// What every call a request makes inherits: its deadline, and a cancel
// that fires when the client goes away. One request runs on one
// single-threaded executor, so a context is never shared across threads.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <list>
#include <stdexcept>
#include <string>
#include <utility>

namespace common {

// A call gave up because its request's deadline passed or its client left.
class RequestAborted : public std::runtime_error {
 public:
  RequestAborted(const std::string& msg, bool cancelled)
      : std::runtime_error(msg), cancelled_(cancelled) {}
  bool cancelled() const { return cancelled_; }

 private:
  bool cancelled_;
};

class RequestContext {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RequestContext(Clock::time_point deadline) : deadline_(deadline) {}
  static RequestContext withTimeout(std::chrono::milliseconds timeout) {
    return RequestContext(Clock::now() + timeout);
  }
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  Clock::time_point deadline() const { return deadline_; }
  // The earlier of the request's deadline and `timeout` from now (a call
  // with its own timeout, e.g. --prometheus-timeout).
  Clock::time_point deadlineWithin(std::chrono::milliseconds timeout) const {
    return std::min(deadline_, Clock::now() + timeout);
  }
  bool expired() const { return Clock::now() >= deadline_; }
  bool cancelled() const { return cancelled_; }
  // Throws RequestAborted when the request cannot go on.
  void check(const std::string& what) const;

  // Runs every registered hook (once); later registrations run at once.
  void cancel();

  // A hook (close a socket, wake a timer) that runs on cancel for as long
  // as its registration lives.
  class Registration {
   public:
    Registration() = default;
    Registration(const RequestContext* ctx, std::list<std::function<void()>>::iterator it)
        : ctx_(ctx), it_(it) {}
    Registration(Registration&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)), it_(o.it_) {}
    Registration& operator=(Registration&& o) noexcept;
    ~Registration() { reset(); }
    void reset();

   private:
    const RequestContext* ctx_ = nullptr;
    std::list<std::function<void()>>::iterator it_;
  };
  [[nodiscard]] Registration onCancel(std::function<void()> hook) const;

 private:
  Clock::time_point deadline_;
  bool cancelled_ = false;
  mutable std::list<std::function<void()>> hooks_;
};

}  // namespace common
