#pragma once
// Host-side planning of device-decoded restore: which chunks are decoded on
// the GPU, and how a worker's chunks share its bounded device staging area.
// A batch places each chunk's stored bytes at the next 16-byte-aligned
// offset of the area until a chunk no longer fits; then it is launched in
// one fixed order on the worker's stream: the leaf kernels hash the staged
// bytes (verdict k for chunk k), the decode kernel decodes only the chunks
// whose verdict is a match (gated on the device) into their destinations,
// and the area is reused by the copies queued after it. Pure: no CUDA calls,
// so it is unit-tested on the CPU; cuda_gpu.cpp drives it.
#include <cstdint>
#include <vector>

#include "backend/kernels/leaf_hash.cuh"
#include "codec/planes/batch.h"
#include "format/snapshot_data.h"
#include "pipeline/sink.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::backend {

// Whether chunk `c` of region `kind` is hashed and decoded on the GPU: leaf-
// hashed planes and palette chunks of one device region with a planes element size, with
// kernels built and verify_on not Host. The kernel decodes both layouts of
// planes (byte planes, 6.4, and the f16 split layout, 6.4.1).
bool decode_on_device(VerifyOn verify_on, bool kernels_built, ChunkHashScheme scheme, const ChunkEntry& c,
                      RegionKind kind);

inline constexpr uint64_t kStageAlign = 16;  // the leaf kernels' loads

// Bytes a worker's staging area needs: the largest chunk's stored bytes,
// and up to `target` bytes so that one launch covers several chunks, never
// more than all of them take. 0 when there are none.
uint64_t staging_area_bytes(const std::vector<uint64_t>& stored_sizes, uint64_t target);

// The jobs of one launch, chunk k at index k of both.
struct DecodeLaunch {
  std::vector<kernels::ChunkJob> verify;           // over the staged stored bytes
  uint64_t leaves = 0;
  std::vector<codec::planes::PlanesJob> decode;  // staged bytes to destination, slices numbered
  uint32_t slices = 0;
};

class DecodeBatch {
 public:
  DecodeBatch(uint64_t area_bytes, uint32_t max_chunks, uint64_t max_leaves)
      : area_(area_bytes), max_chunks_(max_chunks), max_leaves_(max_leaves) {}
  // The staging offset of chunk `chunk` (stored bytes, decoding to device
  // address `dst`), or -1 when it does not fit beside those placed (launch,
  // clear and place again); a chunk larger than the area, or of more leaves
  // than a launch holds, never fits.
  int64_t place(size_t chunk, const ChunkEntry& c, uint64_t dst);
  // Takes back the last chunk placed (its bytes could not be read).
  void drop_last();
  // True once launching is worth it: the area, the chunks or the leaves at half.
  bool ready() const;
  bool empty() const { return chunks_.empty(); }
  const std::vector<size_t>& chunks() const { return chunks_; }
  // The launch's jobs with the area at device address `base`.
  DecodeLaunch jobs(uint64_t base) const;
  void clear();

 private:
  struct Placed {
    uint64_t offset;
    const ChunkEntry* c;
    uint64_t dst;
  };
  uint64_t area_;
  uint32_t max_chunks_;
  uint64_t max_leaves_;
  uint64_t used_ = 0;
  uint64_t leaves_ = 0;
  std::vector<Placed> placed_;
  std::vector<size_t> chunks_;
};

// Verdicts (1: match) and decode statuses (0: decoded, else a planes Fault)
// of the chunks in `slot_chunk`, slot by slot, to failures: Integrity for a
// hash mismatch, Format for a chunk that failed to decode.
std::vector<pipeline::ChunkFailure> failures_from_decode(const SnapshotData& s, const std::vector<size_t>& slot_chunk,
                                                         const std::vector<uint32_t>& verdicts,
                                                         const std::vector<uint32_t>& status, int gpu);

}  // namespace vramsnap::backend
