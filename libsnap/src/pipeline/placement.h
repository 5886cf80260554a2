#pragma once
// Where restored chunks go. The engine asks for a destination buffer for each
// chunk (acquire), fills it with verified, decoded bytes, then hands it back
// (commit). Host memory decodes in place; files and devices use per-worker
// staging buffers.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "pipeline/engine.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::pipeline {

class Placement {
 public:
  virtual ~Placement() = default;
  // Allocates destinations for the selected regions; called once.
  virtual Status prepare(unsigned threads, PhaseTimes& times) = 0;
  virtual Result<std::span<uint8_t>> acquire(unsigned worker, size_t chunk) = 0;
  virtual Status commit(unsigned worker, size_t chunk, std::span<uint8_t> bytes, WorkerClock& clock) = 0;
  // After the last chunk: wait for copies, load modules, fill in results.
  virtual Status finish(PhaseTimes& times) = 0;
};

}  // namespace vramsnap::pipeline

namespace vramsnap {

// Device memory, modules and whatever else a backend must free; owned by
// Restored::State until release().
struct DeviceResources {
  virtual ~DeviceResources() = default;
  virtual void disown() = 0;  // keep everything alive after destruction
};

struct Restored::State {
  std::vector<RestoredRegion> regions;
  RestoreStats stats;
  std::vector<void*> host_owned;  // free() on destruction
  std::unique_ptr<DeviceResources> device;
  ~State();
};

}  // namespace vramsnap
