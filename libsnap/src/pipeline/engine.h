#pragma once
// Runs a per-chunk function over a list of chunks on N threads. Chunks are
// claimed in order; the first failure (lowest chunk index among failures)
// wins and stops the others; cancellation and SIGINT/SIGTERM are polled
// between chunks. Per-worker phase clocks are summed into PhaseTimes.
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "format/snapshot_data.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::pipeline {

struct WorkerClock {
  uint64_t read_ns = 0, hash_ns = 0, decode_ns = 0, copy_ns = 0;
};

// Scoped timer adding elapsed nanoseconds to a counter.
class PhaseTimer {
 public:
  explicit PhaseTimer(uint64_t& acc);
  ~PhaseTimer();
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  uint64_t& acc_;
  uint64_t start_;
};

uint64_t now_ns();
double seconds_since(uint64_t start_ns);

using ChunkFn = std::function<Status(unsigned worker, size_t chunk, WorkerClock& clock)>;

struct EngineOptions {
  unsigned threads = 0;
  ProgressFn progress;
  const std::atomic<bool>* cancel = nullptr;
};

// Effective thread count for `chunks` work items.
unsigned effective_threads(unsigned requested, size_t chunks);

// Runs fn over chunks; returns the first error or Ok. Adds worker clocks to *times.
Status run_chunks(const SnapshotData& s, const std::vector<size_t>& chunks, unsigned threads,
                  const EngineOptions& opt, const ChunkFn& fn, PhaseTimes* times);

// Seal and generation checks shared by verify and restore.
Status check_snapshot(const SnapshotData& s, const CheckOptions& opt);

}  // namespace vramsnap::pipeline
