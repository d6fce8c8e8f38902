// A value many threads read and one occasionally replaces, e.g. the active
// rules or a queue-stats snapshot: readers take a shared_ptr to the current
// one and keep it alive for as long as they use it.
//
// libstdc++ 12's std::atomic<std::shared_ptr> unlocks after a load with
// relaxed ordering, so a following store's write of the pointer is not
// ordered after the load's read (ThreadSanitizer reports it, rightly). A
// mutex held for one pointer copy costs tens of nanoseconds uncontended and
// has no such gap.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace common {

template <typename T>
class Published {
 public:
  Published() = default;
  explicit Published(std::shared_ptr<const T> initial) : value_(std::move(initial)) {}
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mu_);
    return value_;
  }

  void store(std::shared_ptr<const T> next) {
    std::shared_ptr<const T> old;  // released outside the lock
    {
      std::lock_guard lock(mu_);
      old = std::exchange(value_, std::move(next));
    }
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;
};

}  // namespace common
