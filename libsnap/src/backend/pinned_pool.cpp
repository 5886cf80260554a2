// The shared pinned staging pool (see pinned_pool.h).
#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/pinned_pool.h"

#include "backend/cuda_check.h"

namespace vramsnap::backend {

PinnedPool::~PinnedPool() {
  for (auto& b : buffers_) {
    if (b.done) {
      cudaEventSynchronize(b.done);
      cudaEventDestroy(b.done);
    }
    if (b.data) cudaFreeHost(b.data);
  }
}

Status PinnedPool::init(const StagingPlan& plan) {
  bytes_ = plan.buffer_bytes;
  buffers_.resize(plan.buffers);
  for (auto& b : buffers_) {
    void* p = nullptr;
    SNAP_CUDA_TRY(cudaHostAlloc(&p, bytes_, cudaHostAllocDefault));
    b.data = static_cast<uint8_t*>(p);
    SNAP_CUDA_TRY(cudaEventCreateWithFlags(&b.done, cudaEventBlockingSync | cudaEventDisableTiming));
    free_.push_back(&b);
  }
  return {};
}

Result<PinnedPool::Buffer*> PinnedPool::take() {
  Buffer* b = nullptr;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    b = free_.back();
    free_.pop_back();
  }
  const cudaError_t e = cudaEventSynchronize(b->done);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    give_back(b);
    return cuda_error(e, "cudaEventSynchronize(staging buffer)", __FILE__, __LINE__);
  }
  return b;
}

PinnedPool::Buffer* PinnedPool::try_take() {
  std::lock_guard lock(mu_);
  for (size_t k = free_.size(); k-- > 0;) {
    if (cudaEventQuery(free_[k]->done) != cudaSuccess) continue;  // still copying (or an error take() reports)
    Buffer* b = free_[k];
    free_.erase(free_.begin() + static_cast<long>(k));
    return b;
  }
  (void)cudaGetLastError();
  return nullptr;
}

void PinnedPool::give_back(Buffer* b) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(b);
  }
  cv_.notify_one();
}

}  // namespace vramsnap::backend
#endif
