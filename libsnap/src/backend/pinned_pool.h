#pragma once
// A bounded pool of pinned host buffers shared by a restore's workers (sized
// by staging_plan, not by threads x chunk size). Each buffer carries the
// event of the last copy that reads it; taking a buffer waits for that copy
// with a blocking event, so idle workers sleep instead of spinning.
#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda_runtime_api.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "backend/staging_plan.h"
#include "vramsnap/error.hpp"

namespace vramsnap::backend {

class PinnedPool {
 public:
  struct Buffer {
    uint8_t* data = nullptr;
    cudaEvent_t done = nullptr;  // recorded after the copy that reads data
  };

  PinnedPool() = default;
  ~PinnedPool();
  PinnedPool(const PinnedPool&) = delete;
  PinnedPool& operator=(const PinnedPool&) = delete;

  // Allocates plan.buffers buffers of plan.buffer_bytes on the current device.
  Status init(const StagingPlan& plan);
  uint64_t buffer_bytes() const { return bytes_; }

  // A free buffer whose previous copy has completed.
  Result<Buffer*> take();
  // A free buffer whose previous copy has completed, if one is there now;
  // nullptr otherwise (never waits).
  Buffer* try_take();
  // Gives b back once its next copy is enqueued and b->done recorded after it.
  void give_back(Buffer* b);

 private:
  std::vector<Buffer> buffers_;
  std::vector<Buffer*> free_;
  uint64_t bytes_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace vramsnap::backend
#endif
