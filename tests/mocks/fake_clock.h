// A clock tests move by hand: wall and monotonic time are the same number
// and change only when advance() says so.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace mocks {

class FakeClock final : public common::Clock {
 public:
  explicit FakeClock(int64_t startMs = 1700000000000) : now_(startMs) {}
  int64_t nowMillis() const override { return now_.load(); }
  int64_t monotonicMillis() const override { return now_.load(); }
  void advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace mocks
