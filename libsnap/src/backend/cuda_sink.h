#pragma once
// The CUDA sink (make_cuda_sink in device_restore.h): every GPU-placed region
// goes to the GPU its recorded ordinal maps to (device_map.h), laid out by
// device_layout.h, with each region checked against its GPU (compat.h)
// before anything is allocated. Each target GPU has its own staging pool and
// one stream per worker (cuda_gpu.h); a worker selects the chunk's GPU
// itself, so all GPUs fill in parallel from one read of the file. The
// caller's current context is put back on every exit.
//
// Its work is split by phase: cuda_sink_setup.cpp resolves devices and
// allocates, cuda_sink_place.cpp moves each chunk to its GPU,
// cuda_sink_finish.cpp drains the GPUs, prefetches and loads modules.
#ifdef VRAMSNAP_HAVE_CUDA
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "backend/cuda_driver.h"
#include "backend/cuda_gpu.h"
#include "backend/cuda_resources.h"
#include "backend/device_info.h"
#include "backend/device_layout.h"
#include "backend/device_map.h"
#include "backend/device_restore.h"
#include "io/aligned_buffer.h"
#include "pipeline/sink.h"

namespace vramsnap::backend {

class CudaSink final : public pipeline::Sink {
 public:
  CudaSink(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt, Restored::State& out)
      : s_(s), regions_(regions), opt_(opt), out_(out), dev_base_(s.regions.size(), 0),
        host_base_(s.regions.size(), nullptr), gpu_of_(s.regions.size(), -1) {}

  // Resolves every region's GPU and checks compatibility (nothing allocated
  // yet), then creates each target GPU's primary context.
  Status init(PhaseTimes& times);
  Status prepare(unsigned threads, PhaseTimes& times) override;
  Result<std::span<uint8_t>> acquire(unsigned w, size_t i, pipeline::WorkerClock&) override;
  void abandon(unsigned w, size_t i) override;
  Status commit(unsigned w, size_t i, std::span<uint8_t> bytes, pipeline::WorkerClock& clk) override;
  Status place_region(unsigned w, size_t r, std::span<const uint8_t> bytes, pipeline::WorkerClock& clk) override;
  Status commit_zero(unsigned w, size_t i, pipeline::WorkerClock& clk) override;
  bool verifies(size_t i) const override { return device_verify_[i]; }
  Status place_unverified(unsigned w, size_t i, pipeline::WorkerClock& clk) override;
  Status finish(PhaseTimes& times) override;
  std::vector<pipeline::ChunkFailure> deferred_failures() override;

 private:
  struct Worker {
    io::AlignedBuffer scratch;
    PinnedPool::Buffer* held = nullptr;  // lent by acquire, returned by commit or abandon
  };

  TargetGpu& gpu(size_t region) { return *gpus_[gpu_of_[region]]; }
  // Arenas, fixed-VA mappings, managed memory and host buffers, as
  // device_layout plans them; fills dev_base_, host_base_ and out_.regions.
  Status place_regions();
  // Host bytes to the device through the pool, in pieces of one buffer.
  Status stage(unsigned w, TargetGpu& g, uint64_t dst, std::span<const uint8_t> bytes);
  Status place_decoded(unsigned w, size_t i, pipeline::WorkerClock& clk);
  Status drain();
  Status prefetch_read_mostly();
  Status load_modules();

  // First member, so destroyed last: after the streams and staging are gone.
  std::optional<CurrentContextGuard> ctx_guard_;
  const SnapshotData& s_;
  const std::vector<size_t>& regions_;
  const RestoreOptions& opt_;
  Restored::State& out_;
  const DriverApi* api_ = nullptr;
  CudaResources* res_ = nullptr;
  DeviceAssignment assignment_;
  std::vector<TargetDevice> targets_;
  DeviceLayout layout_;
  std::vector<uint64_t> dev_base_;
  std::vector<uint8_t*> host_base_;
  std::vector<int> gpu_of_;  // per region: index into gpus_, -1 for host memory
  std::vector<std::unique_ptr<TargetGpu>> gpus_;
  std::vector<Worker> workers_;
  std::vector<bool> device_verify_;  // per chunk: hashed on its GPU
  std::vector<bool> device_decode_;  // per chunk: hashed and decoded on its GPU (planes)
  std::vector<pipeline::ChunkFailure> failures_;
  bool drained_ = false;
};

}  // namespace vramsnap::backend
#endif
