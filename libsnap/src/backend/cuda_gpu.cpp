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
    cudaFree(l.staging);
    cudaFree(l.planes);
  }
  cudaFree(verdicts_);
  cudaFree(status_);
  pool_.reset();
  (void)cudaGetLastError();
}

Status TargetGpu::prepare(unsigned workers, uint64_t largest_chunk, uint32_t verified_chunks, uint64_t decode_area,
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
  if (verified_chunks && decode_area) {
    void* p = nullptr;
    SNAP_CUDA_TRY(cudaMalloc(&p, verified_chunks * sizeof(uint32_t)));
    status_ = static_cast<uint32_t*>(p);
    SNAP_CUDA_TRY(cudaMemset(status_, 0, verified_chunks * sizeof(uint32_t)));
    for (auto& l : lanes_) {
      const cudaError_t e = cudaMalloc(&p, decode_area);
      if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        return Error(ErrorKind::Limit, fmt::format("GPU {}: out of device memory for {} bytes of decode staging per "
                                                   "worker; use fewer threads or --verify-on host",
                                                   ordinal_, decode_area));
      }
      SNAP_CUDA_TRY(e);
      l.staging = static_cast<uint8_t*>(p);
      l.decode = DecodeBatch(decode_area, kBatchChunks, kBatchLeaves);
      SNAP_CUDA_TRY(cudaMalloc(&p, kBatchChunks * sizeof(codec::planes::PlanesJob)));
      l.planes = static_cast<codec::planes::PlanesJob*>(p);
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

Result<uint64_t> TargetGpu::stage(unsigned worker, size_t chunk, const ChunkEntry& c, uint64_t dst) {
  Lane& lane = lanes_[worker];
  int64_t at = lane.decode.place(chunk, c, dst);
  if (at < 0) {
    VRAMSNAP_TRY(launch_decode(lane));
    at = lane.decode.place(chunk, c, dst);
    if (at < 0)
      return Error(ErrorKind::Limit, fmt::format("chunk {}: {} stored bytes do not fit the decode staging", chunk,
                                                 c.stored_size));
  }
  return reinterpret_cast<uint64_t>(lane.staging) + static_cast<uint64_t>(at);
}

Status TargetGpu::staged(unsigned worker) {
  Lane& lane = lanes_[worker];
  return lane.decode.ready() ? launch_decode(lane) : Status{};
}

Result<uint32_t> TargetGpu::take_slots(const std::vector<size_t>& chunks) {
  const auto n = static_cast<uint32_t>(chunks.size());
  const uint32_t first = next_slot_.fetch_add(n);
  if (first > slot_chunk_.size() || n > slot_chunk_.size() - first)
    return Error(ErrorKind::Usage, fmt::format("GPU {}: more device-verified chunks than planned", ordinal_));
  for (uint32_t k = 0; k < n; ++k) slot_chunk_[first + k] = chunks[k];
  return first;
}

// The jobs are copied from pageable memory, which cudaMemcpyAsync stages
// before it returns, so the batch is reusable at once; the kernels run after
// the stream's earlier copies, which is what makes the hash see the bytes.
Status TargetGpu::launch(Lane& lane) {
  if (lane.batch.empty()) return {};
#ifdef VRAMSNAP_HAVE_CUDA_KERNELS
  const auto& jobs = lane.batch.jobs();
  const auto n = static_cast<uint32_t>(jobs.size());
  VRAMSNAP_ASSIGN_OR_RETURN(const uint32_t first, take_slots(lane.batch.chunks()));
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

// Verify, then decode gated by those verdicts, on the stream that copied the
// stored bytes; later copies into the area queue behind the decode, so the
// area is reused without a wait here.
Status TargetGpu::launch_decode(Lane& lane) {
  if (lane.decode.empty()) return {};
#ifdef VRAMSNAP_HAVE_CUDA_KERNELS
  const DecodeLaunch l = lane.decode.jobs(reinterpret_cast<uint64_t>(lane.staging));
  const auto n = static_cast<uint32_t>(l.verify.size());
  VRAMSNAP_ASSIGN_OR_RETURN(const uint32_t first, take_slots(lane.decode.chunks()));
  SNAP_CUDA_TRY(
      cudaMemcpyAsync(lane.jobs, l.verify.data(), n * sizeof(kernels::ChunkJob), cudaMemcpyHostToDevice, lane.stream));
  const kernels::Batch vb{lane.jobs, n, l.leaves, lane.digests, verdicts_ + first};
  SNAP_CUDA_TRY(kernels::launch_leaf_verify(vb, sm_count_, lane.stream));
  SNAP_CUDA_TRY(cudaMemcpyAsync(lane.planes, l.decode.data(), n * sizeof(codec::planes::PlanesJob),
                                cudaMemcpyHostToDevice, lane.stream));
  const codec::planes::PlanesBatch db{lane.planes, n, l.slices, status_ + first, verdicts_ + first};
  SNAP_CUDA_TRY(kernels::launch_planes_decode(db, sm_count_, lane.stream));
  lane.decode.clear();
  return {};
#else
  return Error(ErrorKind::Compat, fmt::format("GPU {}: this vramsnap was built without its GPU kernels", ordinal_));
#endif
}

Status TargetGpu::drain(const SnapshotData& s, std::vector<pipeline::ChunkFailure>& failures) {
  SNAP_CUDA_TRY(cudaSetDevice(ordinal_));
  for (auto& l : lanes_) {
    VRAMSNAP_TRY(launch(l));
    VRAMSNAP_TRY(launch_decode(l));
  }
  for (auto& l : lanes_) SNAP_CUDA_TRY(cudaStreamSynchronize(l.stream));
  const uint32_t used = next_slot_.load();
  if (!used) return {};
  std::vector<uint32_t> verdicts(used);
  SNAP_CUDA_TRY(cudaMemcpy(verdicts.data(), verdicts_, used * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  std::vector<uint32_t> status;
  if (status_) {
    status.resize(used);
    SNAP_CUDA_TRY(cudaMemcpy(status.data(), status_, used * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  }
  const std::vector<size_t> slots(slot_chunk_.begin(), slot_chunk_.begin() + used);
  for (auto& f : failures_from_decode(s, slots, verdicts, status, ordinal_)) failures.push_back(std::move(f));
  return {};
}

}  // namespace vramsnap::backend
#endif
