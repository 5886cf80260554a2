#pragma once
// What a benchmark of restores needs from the library besides restore itself:
// the worker count a restore uses (so a reference read runs as many threads),
// whether a GPU is usable, and the pinned host-to-device copy bandwidth a CUDA
// restore is read against.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"

namespace vramsnap {

// Threads a restore (or verify) of `chunks` chunks runs with `requested`
// threads asked for (0: all cores).
VRAMSNAP_API unsigned restore_worker_threads(unsigned requested, size_t chunks) noexcept;

// Ok when a CUDA device is usable; else Compat with the reason (no driver,
// driver too old, no device, built without CUDA).
VRAMSNAP_API Status require_gpu();

struct CopyBandwidth {
  std::string gpu_name;
  uint64_t bytes = 0;            // bytes per timed copy
  std::vector<double> seconds;   // one per timed copy (CUDA events)
};

// Measured the way restore copies: cudaMemcpyAsync from cudaHostAlloc memory
// on a non-blocking stream; one untimed warm-up copy, then `iterations` timed
// copies of `bytes`. Compat without CUDA or a GPU.
VRAMSNAP_API Result<CopyBandwidth> measure_pinned_h2d(int device, uint64_t bytes, unsigned iterations);

}  // namespace vramsnap
