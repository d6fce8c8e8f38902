#include "queue_stats/source_loop.h"

namespace queue_stats {

SourceLoop::SourceLoop(std::chrono::milliseconds interval, std::function<void()> cycle)
    : interval_(interval), cycle_(std::move(cycle)), thread_([this] { run(); }) {}

SourceLoop::~SourceLoop() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void SourceLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

bool SourceLoop::join(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_until(lock, deadline, [this] { return ended_; })) return false;
  lock.unlock();
  if (thread_.joinable()) thread_.join();
  return true;
}

bool SourceLoop::cycled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cycled_;
}

void SourceLoop::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // Cycles start on a fixed schedule: a long one only delays the next.
    auto next = std::chrono::steady_clock::now() + interval_;
    lock.unlock();
    cycle_();
    lock.lock();
    cycled_ = true;
    cv_.wait_until(lock, next, [this] { return stopping_; });
  }
  ended_ = true;
  cv_.notify_all();
}

}  // namespace queue_stats
