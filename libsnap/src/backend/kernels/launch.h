#pragma once
// Host-side entry points of the device kernels (compiled by nvcc when the
// CUDA toolkit is present; see libsnap/CMakeLists.txt).
#include <cuda_runtime_api.h>

#include "backend/kernels/leaf_hash.cuh"

namespace vramsnap::backend::kernels {

// Hashes every leaf of the batch, then each chunk's root, and writes a
// verdict per chunk (1: matches the expected hash). batch.jobs,
// batch.leaf_digests and batch.verdicts are device memory; chunk data is
// device memory, 16-byte aligned. Asynchronous on `stream`.
cudaError_t launch_leaf_verify(const Batch& batch, int sm_count, cudaStream_t stream);

}  // namespace vramsnap::backend::kernels
