#pragma once
// The restore driver shared by restore(), extract() and the streaming
// handover (pipeline/stream.cpp): region selection by name, and one run of
// every selected chunk through read -> verify -> decode -> place.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "format/snapshot_data.h"
#include "pipeline/sink.h"

namespace vramsnap::pipeline {

// Region indices for the names given (all regions when empty), in file
// order, each once; Usage error naming a region that does not exist.
Result<std::vector<size_t>> select_regions(const SnapshotData& s, const std::vector<std::string>& names);

// What a streaming run adds to a plain one.
struct RunHooks {
  std::vector<size_t> chunks;                  // claim order; empty: the regions' chunks in file order
  std::function<void()> prepared;              // after the sink allocated, before the first chunk
  std::function<void(size_t chunk)> placed;    // after a chunk was verified and committed
  const std::atomic<bool>* stop = nullptr;     // ends the run as a cancellation
};

// Runs every chunk of the selected regions through read -> verify -> decode
// -> place (or the sink's place_unverified, for chunks it verifies itself),
// then reports the lowest of the engine's and the sink's deferred failures.
// The caller has checked the seal.
Status run_restore(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt, Sink& sink,
                   RestoreStats& stats, const RunHooks* hooks = nullptr);

}  // namespace vramsnap::pipeline
