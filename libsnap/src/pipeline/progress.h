#pragma once
// Progress reporting for capture, verify and restore: workers count the bytes
// they finish, and the caller's callback runs at most about 20 times a second,
// never on two threads at once, plus once at the end.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "vramsnap/capture.hpp"

namespace vramsnap::pipeline {

class ProgressThrottle {
 public:
  static constexpr std::chrono::milliseconds kInterval{50};

  // fn may be empty: then nothing is reported and add() only counts.
  ProgressThrottle(const ProgressFn& fn, uint64_t total) : fn_(fn), total_(total) {}
  ProgressThrottle(const ProgressThrottle&) = delete;
  ProgressThrottle& operator=(const ProgressThrottle&) = delete;

  // Counts bytes done; reports if kInterval has passed since the last report
  // (the first call always reports).
  void add(uint64_t bytes);
  // Reports the current count regardless of the interval.
  void finish();

  uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  uint64_t total() const { return total_; }

 private:
  using Clock = std::chrono::steady_clock;
  const ProgressFn& fn_;
  const uint64_t total_;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
  Clock::time_point last_{};  // guarded by mu_
};

}  // namespace vramsnap::pipeline
