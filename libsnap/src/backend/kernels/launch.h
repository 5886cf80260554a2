#pragma once
// Host-side entry points of the device kernels (compiled by nvcc when the
// CUDA toolkit is present; see libsnap/CMakeLists.txt).
#include <cuda_runtime_api.h>

#include "backend/kernels/leaf_hash.cuh"
#include "codec/planes/batch.h"

namespace vramsnap::backend::kernels {

// Hashes every leaf of the batch, then each chunk's root, and writes a
// verdict per chunk (1: matches the expected hash). batch.jobs,
// batch.leaf_digests and batch.verdicts are device memory; chunk data is
// device memory, 16-byte aligned. Asynchronous on `stream`.
cudaError_t launch_leaf_verify(const Batch& batch, int sm_count, cudaStream_t stream);

// Decodes every planes chunk of the batch into its destination, in one
// launch. batch.jobs (numbered by codec::planes::assign_slices), batch.status
// (zeroed by the caller), the stored bytes and the destinations are device
// memory. A chunk whose bytes fail a check of formats/snapshot-v1.md 6.4 gets
// its Fault in status (its destination then holds partial output, never
// anything outside it). Asynchronous on `stream`.
cudaError_t launch_planes_decode(const codec::planes::PlanesBatch& batch, int sm_count, cudaStream_t stream);

}  // namespace vramsnap::backend::kernels
