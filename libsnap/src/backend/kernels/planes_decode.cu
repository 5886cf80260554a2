// Launch wrapper for the planes decode kernel (planes_decode.cuh), declared
// in launch.h. launch.h is not included here: it brings leaf_hash.cuh, whose
// kernels leaf_hash.cu defines.
#include <cuda_runtime_api.h>

#include "backend/kernels/planes_decode.cuh"

namespace vramsnap::backend::kernels {

cudaError_t launch_planes_decode(const codec::planes::PlanesBatch& batch, int sm_count, cudaStream_t stream) {
  if (batch.slice_count == 0) return cudaSuccess;
  // A few resident blocks per SM (each holds a 4 KiB table); the grid-stride
  // loop covers larger batches.
  const uint32_t max_blocks = static_cast<uint32_t>(sm_count > 0 ? sm_count : 1) * 16;
  const uint32_t blocks = batch.slice_count < max_blocks ? batch.slice_count : max_blocks;
  planes_decode_kernel<<<blocks, codec::planes::kSliceThreads, 0, stream>>>(batch);
  return cudaGetLastError();
}

}  // namespace vramsnap::backend::kernels
