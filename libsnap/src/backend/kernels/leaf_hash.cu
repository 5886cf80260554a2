// Launch wrappers for the leaf-hash verification kernels (leaf_hash.cuh).
#include "backend/kernels/leaf_hash.cuh"
#include "backend/kernels/launch.h"

namespace vramsnap::backend::kernels {

cudaError_t launch_leaf_verify(const Batch& batch, int sm_count, cudaStream_t stream) {
  if (batch.chunks == 0) return cudaSuccess;
  const uint64_t warps = (batch.leaves + kWarp - 1) / kWarp;
  const uint64_t want_blocks = (warps + kWarpsPerBlock - 1) / kWarpsPerBlock;
  // Enough blocks to fill every SM a few times over; the grid-stride loop
  // covers the rest.
  const uint64_t max_blocks = static_cast<uint64_t>(sm_count > 0 ? sm_count : 1) * 8;
  const unsigned blocks = static_cast<unsigned>(want_blocks < max_blocks ? want_blocks : max_blocks);
  if (blocks) leaf_digest_kernel<<<blocks, kWarpsPerBlock * kWarp, 0, stream>>>(batch);
  const unsigned root_blocks = (batch.chunks + 127) / 128;
  root_verdict_kernel<<<root_blocks, 128, 0, stream>>>(batch);
  return cudaGetLastError();
}

}  // namespace vramsnap::backend::kernels
