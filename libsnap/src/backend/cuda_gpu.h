#pragma once
// One target GPU of a cuda restore: its bounded pool of pinned staging
// buffers, one stream per worker, and device-side verification: each
// worker's chunks to hash on this GPU are batched per stream and launched
// after that stream's copies (launch_leaf_verify), with verdicts in
// consecutive device slots read back once, after the last chunk. No
// synchronisation per chunk.
#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda_runtime_api.h>

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "backend/device_verify.h"
#include "backend/pinned_pool.h"
#include "format/snapshot_data.h"
#include "pipeline/sink.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::backend {

// Batches of up to 256 chunks or 256 MiB (16384 leaves: any chunk fits),
// launched at half of either.
inline constexpr uint32_t kBatchChunks = 256;
inline constexpr uint64_t kBatchLeaves = 16384;

class TargetGpu {
 public:
  struct Lane {  // one worker's stream, its batch and the batch kernels' scratch
    cudaStream_t stream = nullptr;
    VerifyBatch batch{kBatchChunks, kBatchLeaves};
    kernels::ChunkJob* jobs = nullptr;  // device
    uint8_t* digests = nullptr;         // device: kBatchLeaves x 32 bytes
  };

  explicit TargetGpu(int ordinal) : ordinal_(ordinal) {}
  ~TargetGpu();  // waits for the streams, frees everything (this GPU selected)
  TargetGpu(const TargetGpu&) = delete;
  TargetGpu& operator=(const TargetGpu&) = delete;

  int ordinal() const { return ordinal_; }
  // Streams per worker; staging for chunks up to `largest_chunk` (none when
  // 0); verdict slots and scratch for `verified_chunks` device-verified ones.
  Status prepare(unsigned workers, uint64_t largest_chunk, uint32_t verified_chunks, const StagingSpec& staging);

  cudaStream_t stream(unsigned worker) const { return lanes_[worker].stream; }
  PinnedPool& pool() { return *pool_; }
  bool has_pool() const { return pool_ != nullptr; }

  // Copies b's first `size` bytes to dst on the worker's stream and gives b
  // back (its event recorded after the copy).
  Status copy(unsigned worker, PinnedPool::Buffer* b, void* dst, size_t size);
  // Adds a chunk whose stored bytes are (being) copied to `dst` on the
  // worker's stream to that stream's batch; launches the batch when due.
  Status verify(unsigned worker, size_t chunk, uint64_t dst, uint64_t size, const std::array<uint8_t, 32>& hash);
  // After the workers: launches what is left, waits for every stream and
  // appends a failure per chunk whose verdict is not a match.
  Status drain(const SnapshotData& s, std::vector<pipeline::ChunkFailure>& failures);

  std::atomic<uint64_t> placed{0};    // raw bytes placed on this GPU
  std::atomic<uint64_t> verified{0};  // raw bytes hashed on this GPU

 private:
  Status launch(Lane& lane);

  int ordinal_;
  int sm_count_ = 0;
  std::unique_ptr<PinnedPool> pool_;
  std::vector<Lane> lanes_;
  uint32_t* verdicts_ = nullptr;   // device: one per device-verified chunk
  std::vector<size_t> slot_chunk_;
  std::atomic<uint32_t> next_slot_{0};
};

}  // namespace vramsnap::backend
#endif
