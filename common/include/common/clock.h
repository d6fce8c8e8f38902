// Time as a seam, so caches, windows and timestamps are testable.
#pragma once

#include <chrono>
#include <cstdint>

namespace common {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock Unix milliseconds (timestamps in answers).
  virtual int64_t nowMillis() const = 0;
  // Monotonic milliseconds (cache expiry, backoff); never jumps.
  virtual int64_t monotonicMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t monotonicMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace common
