// Staging, streams and device-side verification of one target GPU (cuda_gpu.h).
#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_gpu.h"

#include <fmt/format.h>

#include "backend/cuda_check.h"
#include "backend/staging_plan.h"
#ifdef VRAMSNAP_HAVE_CUDA_KERNELS
#include "backend/kernels/launch.h"
#endif

namespace vramsnap::backend {

TargetGpu::~TargetGpu() {
  cudaSetDevice(ordinal_);
  for (auto& l : lanes_) {
    if (l.stream) {
      cudaStreamSynchronize(l.stream);
      cudaStreamDestroy(l.stream);
    }
    cudaFree(l.jobs);
    cudaFree(l.digests);
  }
  cudaFree(verdicts_);
  pool_.reset();
  (void)cudaGetLastError();
}

Status TargetGpu::prepare(unsigned workers, uint64_t largest_chunk, uint32_t verified_chunks,
                          const StagingSpec& staging) {
  SNAP_CUDA_TRY(cudaSetDevice(ordinal_));
  lanes_.resize(workers);
  for (auto& l : lanes_) SNAP_CUDA_TRY(cudaStreamCreateWithFlags(&l.stream, cudaStreamNonBlocking));
  if (verified_chunks) {
    SNAP_CUDA_TRY(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, ordinal_));
    void* p = nullptr;
    SNAP_CUDA_TRY(cudaMalloc(&p, verified_chunks * sizeof(uint32_t)));
    verdicts_ = static_cast<uint32_t*>(p);
    SNAP_CUDA_TRY(cudaMemset(verdicts_, 0, verified_chunks * sizeof(uint32_t)));  // unlaunched reads as mismatch
    slot_chunk_.assign(verified_chunks, SIZE_MAX);
    for (auto& l : lanes_) {
      SNAP_CUDA_TRY(cudaMalloc(&p, kBatchChunks * sizeof(kernels::ChunkJob)));
      l.jobs = static_cast<kernels::ChunkJob*>(p);
      SNAP_CUDA_TRY(cudaMalloc(&p, kBatchLeaves * 32));
      l.digests = static_cast<uint8_t*>(p);
    }
  }
  if (!largest_chunk) return {};
  auto plan = plan_staging(StagingOptions{staging.buffers, staging.buffer_bytes}, largest_chunk);
  if (!plan.ok()) return std::move(plan).error().with_context(fmt::format("GPU {}: ", ordinal_));
  pool_ = std::make_unique<PinnedPool>();
  return pool_->init(*plan);
}

Status TargetGpu::copy(unsigned worker, PinnedPool::Buffer* b, void* dst, size_t size) {
  const cudaStream_t stream = lanes_[worker].stream;
  cudaError_t e = cudaMemcpyAsync(dst, b->data, size, cudaMemcpyHostToDevice, stream);
  if (e == cudaSuccess) e = cudaEventRecord(b->done, stream);
  pool_->give_back(b);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return cuda_error(e, "cudaMemcpyAsync(staging to device)", __FILE__, __LINE__);
  }
  return {};
}

Status TargetGpu::verify(unsigned worker, size_t chunk, uint64_t dst, uint64_t size,
                         const std::array<uint8_t, 32>& hash) {
  Lane& lane = lanes_[worker];
  if (!lane.batch.add(chunk, dst, size, hash)) {
    VRAMSNAP_TRY(launch(lane));
    if (!lane.batch.add(chunk, dst, size, hash))
      return Error(ErrorKind::Limit, fmt::format("chunk {}: {} bytes do not fit one verification batch", chunk, size));
  }
  return lane.batch.ready() ? launch(lane) : Status{};
}

// The jobs are copied from pageable memory, which cudaMemcpyAsync stages
// before it returns, so the batch is reusable at once; the kernels run after
// the stream's earlier copies, which is what makes the hash see the bytes.
Status TargetGpu::launch(Lane& lane) {
  if (lane.batch.empty()) return {};
#ifdef VRAMSNAP_HAVE_CUDA_KERNELS
  const auto& jobs = lane.batch.jobs();
  const auto n = static_cast<uint32_t>(jobs.size());
  const uint32_t first = next_slot_.fetch_add(n);
  if (first > slot_chunk_.size() || n > slot_chunk_.size() - first)
    return Error(ErrorKind::Usage, fmt::format("GPU {}: more device-verified chunks than planned", ordinal_));
  for (uint32_t k = 0; k < n; ++k) slot_chunk_[first + k] = lane.batch.chunks()[k];
  SNAP_CUDA_TRY(
      cudaMemcpyAsync(lane.jobs, jobs.data(), n * sizeof(kernels::ChunkJob), cudaMemcpyHostToDevice, lane.stream));
  const kernels::Batch b{lane.jobs, n, lane.batch.leaves(), lane.digests, verdicts_ + first};
  SNAP_CUDA_TRY(kernels::launch_leaf_verify(b, sm_count_, lane.stream));
  lane.batch.clear();
  return {};
#else
  return Error(ErrorKind::Compat, fmt::format("GPU {}: this vramsnap was built without its GPU kernels", ordinal_));
#endif
}

Status TargetGpu::drain(const SnapshotData& s, std::vector<pipeline::ChunkFailure>& failures) {
  SNAP_CUDA_TRY(cudaSetDevice(ordinal_));
  for (auto& l : lanes_) VRAMSNAP_TRY(launch(l));
  for (auto& l : lanes_) SNAP_CUDA_TRY(cudaStreamSynchronize(l.stream));
  const uint32_t used = next_slot_.load();
  if (!used) return {};
  std::vector<uint32_t> verdicts(used);
  SNAP_CUDA_TRY(cudaMemcpy(verdicts.data(), verdicts_, used * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  const std::vector<size_t> slots(slot_chunk_.begin(), slot_chunk_.begin() + used);
  for (auto& f : failures_from_verdicts(s, slots, verdicts, ordinal_)) failures.push_back(std::move(f));
  return {};
}

}  // namespace vramsnap::backend
#endif
