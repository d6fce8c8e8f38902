// Time as a seam, so relist windows and timestamps are testable.
#pragma once

#include <chrono>
#include <cstdint>

namespace adapter {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace adapter
