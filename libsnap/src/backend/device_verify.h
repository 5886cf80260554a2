#pragma once
// Host-side logic of device-verified restore: which chunks are hashed on the
// GPU, how they are batched for launch_leaf_verify (no synchronisation per
// chunk), and how the batches' verdicts become per-chunk failures that the
// engine merges with its own (lowest chunk first). Pure: no CUDA calls, so
// it is unit-tested on the CPU; the CUDA sink (cuda_sink_place.cpp) drives it.
#include <array>
#include <cstdint>
#include <vector>

#include "backend/kernels/leaf_hash.cuh"
#include "format/snapshot_data.h"
#include "pipeline/sink.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::backend {

// Whether the GPU kernels were compiled into this library (they are not in
// sanitizer builds or without nvcc).
bool device_kernels_built();

// Compat error when `verify_on` asks for the GPU and the kernels are absent.
Status check_verify_on(VerifyOn verify_on, bool kernels_built);

// Where chunk `c` of region `kind` is hashed when its bytes land at device
// address `dst`: on the GPU only for leaf-hashed raw chunks of device
// regions whose destination is 16-byte aligned (the kernel's loads), with
// kernels built and verify_on not Host. Planes chunks are hashed and
// decoded on the GPU too (decode_on_device, device_decode.h); other
// compressed chunks on the host: only their decoded bytes cross PCIe.
bool verify_on_device(VerifyOn verify_on, bool kernels_built, ChunkHashScheme scheme, const ChunkEntry& c,
                      RegionKind kind, uint64_t dst);

// One launch's worth of chunks: jobs with their first leaf, and the chunk
// index of each job. Bounded by chunk count and leaves (the leaf-digest
// scratch on the device is sized by max_leaves).
class VerifyBatch {
 public:
  VerifyBatch(uint32_t max_chunks, uint64_t max_leaves) : max_chunks_(max_chunks), max_leaves_(max_leaves) {}
  // False when the chunk does not fit beside those already added (flush and
  // add again); a chunk of more than max_leaves leaves never fits.
  bool add(size_t chunk, uint64_t device_ptr, uint64_t size, const std::array<uint8_t, 32>& hash);
  // True once launching is worth it: at half of either bound.
  bool ready() const { return 2 * jobs_.size() >= max_chunks_ || 2 * leaves_ >= max_leaves_; }
  bool empty() const { return jobs_.empty(); }
  uint64_t leaves() const { return leaves_; }
  const std::vector<kernels::ChunkJob>& jobs() const { return jobs_; }
  const std::vector<size_t>& chunks() const { return chunks_; }
  void clear();

 private:
  uint32_t max_chunks_;
  uint64_t max_leaves_;
  uint64_t leaves_ = 0;
  std::vector<kernels::ChunkJob> jobs_;
  std::vector<size_t> chunks_;
};

// Verdicts (1: match) of the chunks in `slot_chunk`, slot by slot, to
// Integrity failures naming chunk, region, offset and the GPU.
std::vector<pipeline::ChunkFailure> failures_from_verdicts(const SnapshotData& s, const std::vector<size_t>& slot_chunk,
                                                           const std::vector<uint32_t>& verdicts, int gpu);

}  // namespace vramsnap::backend
