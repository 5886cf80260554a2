#pragma once
// What a benchmark of restores needs from the library besides restore itself:
// the worker count a restore uses (so a reference read runs as many threads),
// whether a GPU is usable, and the pinned host-to-device copy bandwidth a CUDA
// restore is read against.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vramsnap/codec.hpp"
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

// One codec over a sample, on one thread: what it stores and how fast one
// core encodes and decodes it.
struct CodecTiming {
  CodecChoice choice;
  uint64_t raw_bytes = 0;
  uint64_t stored_bytes = 0;            // every chunk as the writer stores it
  std::vector<uint64_t> chunks_by_codec; // indexed by codec id (fallbacks show here)
  double encode_seconds = 0;            // one pass
  std::vector<double> decode_seconds;   // one per timed pass over every chunk
  std::vector<double> decode_cpu_seconds;  // the same passes in the thread's CPU time (what a busy machine's
                                           // other processes do not add)
};

// Encodes `sample` in chunks of `chunk_size` with `choice` as capture would
// for a region of `dtype` (level 3), then times `iterations` single-thread
// decodes of every chunk after one warm-up, checking the bytes once.
VRAMSNAP_API Result<CodecTiming> measure_codec(std::span<const uint8_t> sample, CodecChoice choice,
                                              const std::string& dtype, uint64_t chunk_size, unsigned iterations);

}  // namespace vramsnap
