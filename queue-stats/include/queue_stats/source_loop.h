// One source's schedule: a thread that runs its cycle every interval until
// stopped. Each Kafka cluster and SQS has its own, so a slow or dead one
// delays only its own results. Stopping never waits for a cycle in
// progress: stop() returns at once and join() waits at most its deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace queue_stats {

class SourceLoop {
 public:
  // Starts the thread; the first cycle runs at once.
  SourceLoop(std::chrono::milliseconds interval, std::function<void()> cycle);
  ~SourceLoop();  // stops and joins (wait for the cycle): join() first to bound it
  SourceLoop(const SourceLoop&) = delete;
  SourceLoop& operator=(const SourceLoop&) = delete;

  void stop();
  // Waits until the thread has ended or `deadline`; true when it ended
  // (then the loop can be destroyed without waiting).
  bool join(std::chrono::steady_clock::time_point deadline);
  // Whether a first cycle has finished.
  bool cycled() const;

 private:
  void run();
  std::chrono::milliseconds interval_;
  std::function<void()> cycle_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false, ended_ = false, cycled_ = false;
  std::thread thread_;
};

}  // namespace queue_stats
