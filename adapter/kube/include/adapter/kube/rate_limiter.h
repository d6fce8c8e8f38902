// A token bucket (client-go's --kube-api-qps / --kube-api-burst): callers
// wait for a token, so a burst of requests cannot flood kube-apiserver.
// Background threads sleep for it; the request path waits on a timer and
// gives up rather than queue behind a flood.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

namespace adapter {

class RateLimiter {
 public:
  using Duration = std::chrono::steady_clock::duration;

  RateLimiter(double qps, int burst)
      : qps_(qps), burst_(burst), tokens_(burst), last_(std::chrono::steady_clock::now()) {}

  // Takes a token and says how long to wait until it is valid (zero: now).
  // When that would exceed `maxWait`, takes nothing and returns nullopt.
  // qps <= 0 means unlimited.
  std::optional<Duration> reserve(Duration maxWait = Duration::max()) {
    if (qps_ <= 0) return Duration::zero();
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    tokens_ = std::min<double>(burst_,
                               tokens_ + qps_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    double after = tokens_ - 1;  // negative: later callers queue behind this one
    auto wait =
        after >= 0
            ? Duration::zero()
            : std::chrono::duration_cast<Duration>(std::chrono::duration<double>(-after / qps_));
    if (wait > maxWait) return std::nullopt;
    tokens_ = after;
    return wait;
  }

  // Blocks until a token is free.
  void acquire() {
    if (auto wait = reserve(); wait && *wait > Duration::zero()) std::this_thread::sleep_for(*wait);
  }

  double qps() const { return qps_; }

 private:
  double qps_;
  int burst_;
  std::mutex mu_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace adapter
