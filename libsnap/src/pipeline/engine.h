#pragma once
// The chunk engine: runs a per-chunk function over a list of chunks on N
// threads. Chunks are claimed in order; the first failure (lowest position
// among failures) wins and stops the others; cancellation and SIGINT/SIGTERM
// are polled between chunks. Per-worker phase clocks are summed into
// PhaseTimes. Verify and restore both run on it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "format/snapshot_data.h"
#include "pipeline/clock.h"
#include "pipeline/sink.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::pipeline {

using ChunkFn = std::function<Status(unsigned worker, size_t chunk, WorkerClock& clock)>;

struct EngineOptions {
  unsigned threads = 0;
  ProgressFn progress;
  const std::atomic<bool>* cancel = nullptr;
  // A second source of cancellation, the library's own (a streaming
  // handover's caller said stop), so that the caller's flag stays read-only.
  const std::atomic<bool>* stop = nullptr;
};

// Effective thread count for `items` work items: `requested`, or every core
// when 0, never more than there are items, at least 1.
unsigned effective_threads(unsigned requested, size_t items);

// Runs fn over chunks; returns the first error (and its chunk index in
// *failed_chunk, when given) or Ok. Adds worker clocks to *times.
Status run_chunks(const SnapshotData& s, const std::vector<size_t>& chunks, const EngineOptions& opt,
                  const ChunkFn& fn, PhaseTimes* times, size_t* failed_chunk = nullptr);

// The failure to report when the engine failed at chunk `engine_failed`
// (nullopt: it did not) and a sink reported `deferred` verdicts: the one
// with the lowest chunk index, so that the answer does not depend on timing.
std::optional<ChunkFailure> lowest_failure(std::optional<ChunkFailure> engine_failed,
                                           std::vector<ChunkFailure> deferred);

// Seal, key and generation policy, checked once before any chunk is read.
Status check_snapshot(const SnapshotData& s, const CheckOptions& opt);

}  // namespace vramsnap::pipeline
