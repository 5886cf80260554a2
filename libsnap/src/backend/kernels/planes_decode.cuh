#pragma once
// Device decoding of planes chunks (formats/snapshot-v1.md 6.4): one thread
// block per slice of 128 Huffman blocks, one thread per block. The work of
// each phase is the __host__ __device__ code of codec/planes/batch.h; this
// kernel adds only the shared state, the barriers and the grid-stride loop,
// and the host tests run the same phases with run_grid_on_host().
#include <cstdint>

#include "codec/planes/batch.h"

namespace vramsnap::backend::kernels {

namespace planes = codec::planes;

#if defined(__CUDACC__)
__global__ void __launch_bounds__(planes::kSliceThreads) planes_decode_kernel(planes::PlanesBatch b) {
  __shared__ planes::SliceState st;
  for (uint32_t slice = blockIdx.x; slice < b.slice_count; slice += gridDim.x) {
    if (threadIdx.x == 0) planes::begin_slice(b, slice, st);
    __syncthreads();
    const unsigned count = st.planes;  // written once above, read by all after the barrier
    for (unsigned p = 0; p < count; ++p) {
      planes::prepare_plane(b, p, threadIdx.x, st);
      __syncthreads();
      planes::decode_slice_block(b, p, threadIdx.x, st);
      __syncthreads();  // the tables are rebuilt for the next plane
    }
    __syncthreads();  // st is rewritten for the next slice
  }
}
#endif

}  // namespace vramsnap::backend::kernels
