#pragma once
// One target GPU of a cuda restore: its bounded pool of pinned staging
// buffers, one stream per worker, and device-side verification: each
// worker's chunks to hash on this GPU are batched per stream and launched
// after that stream's copies (launch_leaf_verify), with verdicts in
// consecutive device slots read back once, after the last chunk. Planes
// chunks decoded on this GPU are staged per stream in a bounded device area
// (device_decode.h): hashed there, then decoded into their destination
// only where the verdict is a match, with decode statuses in the same
// slots. No synchronisation per chunk.
#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda_runtime_api.h>

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "backend/device_decode.h"
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
// Device staging per stream for planes chunks (at least the largest one).
inline constexpr uint64_t kDecodeStagingBytes = 64ull << 20;

class TargetGpu {
 public:
  struct Lane {  // one worker's stream, its batch and the batch kernels' scratch
    cudaStream_t stream = nullptr;
    VerifyBatch batch{kBatchChunks, kBatchLeaves};
    kernels::ChunkJob* jobs = nullptr;  // device
    uint8_t* digests = nullptr;         // device: kBatchLeaves x 32 bytes
    DecodeBatch decode{0, kBatchChunks, kBatchLeaves};
    uint8_t* staging = nullptr;                   // device: the decode batch's area
    codec::planes::PlanesJob* planes = nullptr;  // device: kBatchChunks
  };

  explicit TargetGpu(int ordinal) : ordinal_(ordinal) {}
  ~TargetGpu();  // waits for the streams, frees everything (this GPU selected)
  TargetGpu(const TargetGpu&) = delete;
  TargetGpu& operator=(const TargetGpu&) = delete;

  int ordinal() const { return ordinal_; }
  // Streams per worker; staging for chunks up to `largest_chunk` (none when
  // 0); verdict slots and scratch for `verified_chunks` device-verified ones
  // (device-decoded ones included), and a staging area per stream of
  // `decode_area` bytes (none when 0).
  Status prepare(unsigned workers, uint64_t largest_chunk, uint32_t verified_chunks, uint64_t decode_area,
                 const StagingSpec& staging);

  cudaStream_t stream(unsigned worker) const { return lanes_[worker].stream; }
  PinnedPool& pool() { return *pool_; }
  bool has_pool() const { return pool_ != nullptr; }

  // Copies b's first `size` bytes to dst on the worker's stream and gives b
  // back (its event recorded after the copy).
  Status copy(unsigned worker, PinnedPool::Buffer* b, void* dst, size_t size);
  // Adds a chunk whose stored bytes are (being) copied to `dst` on the
  // worker's stream to that stream's batch; launches the batch when due.
  Status verify(unsigned worker, size_t chunk, uint64_t dst, uint64_t size, const std::array<uint8_t, 32>& hash);
  // The device address where chunk `c`'s stored bytes go, in the worker's
  // staging area, before they are copied there on the worker's stream
  // (launches the stream's decode batch first when it is full).
  Result<uint64_t> stage(unsigned worker, size_t chunk, const ChunkEntry& c, uint64_t dst);
  // After those copies: launches the batch when due. unstage takes the
  // chunk back instead when its bytes could not be read.
  Status staged(unsigned worker);
  void unstage(unsigned worker) { lanes_[worker].decode.drop_last(); }
  // After the workers: launches what is left, waits for every stream and
  // appends a failure per chunk whose verdict is not a match.
  Status drain(const SnapshotData& s, std::vector<pipeline::ChunkFailure>& failures);

  std::atomic<uint64_t> placed{0};    // raw bytes placed on this GPU
  std::atomic<uint64_t> verified{0};  // raw bytes hashed on this GPU
  std::atomic<uint64_t> decoded{0};   // raw bytes decoded on this GPU

 private:
  Status launch(Lane& lane);
  Status launch_decode(Lane& lane);
  Result<uint32_t> take_slots(const std::vector<size_t>& chunks);

  int ordinal_;
  int sm_count_ = 0;
  std::unique_ptr<PinnedPool> pool_;
  std::vector<Lane> lanes_;
  uint32_t* verdicts_ = nullptr;   // device: one per device-verified chunk
  uint32_t* status_ = nullptr;     // device: decode status in the same slots (when decoding)
  std::vector<size_t> slot_chunk_;
  std::atomic<uint32_t> next_slot_{0};
};

}  // namespace vramsnap::backend
#endif
