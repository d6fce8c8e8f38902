// A token bucket (client-go's --kube-api-qps / --kube-api-burst): callers
// wait for a token, so a burst of requests cannot flood kube-apiserver.
#pragma once

#include <chrono>
#include <mutex>
#include <thread>

namespace adapter {

class RateLimiter {
 public:
  RateLimiter(double qps, int burst)
      : qps_(qps), burst_(burst), tokens_(burst), last_(std::chrono::steady_clock::now()) {}

  // Blocks until a token is free; qps <= 0 means unlimited.
  void acquire() {
    if (qps_ <= 0) return;
    std::chrono::steady_clock::time_point when;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto now = std::chrono::steady_clock::now();
      tokens_ = std::min<double>(
          burst_, tokens_ + qps_ * std::chrono::duration<double>(now - last_).count());
      last_ = now;
      tokens_ -= 1;  // may go negative: later callers queue behind this one
      if (tokens_ >= 0) return;
      when = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(-tokens_ / qps_));
    }
    std::this_thread::sleep_until(when);
  }

 private:
  double qps_;
  int burst_;
  std::mutex mu_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace adapter
