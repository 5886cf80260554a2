#pragma once
// Phase clocks of the pipeline: per-worker nanosecond counters (summed into
// PhaseTimes when a run ends) and a scoped timer that adds to one of them.
#include <cstdint>

namespace vramsnap::pipeline {

struct WorkerClock {
  uint64_t read_ns = 0, hash_ns = 0, decode_ns = 0, copy_ns = 0;
};

uint64_t now_ns();
double seconds_since(uint64_t start_ns);

class PhaseTimer {
 public:
  explicit PhaseTimer(uint64_t& acc) : acc_(acc), start_(now_ns()) {}
  ~PhaseTimer() { acc_ += now_ns() - start_; }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  uint64_t& acc_;
  uint64_t start_;
};

}  // namespace vramsnap::pipeline
