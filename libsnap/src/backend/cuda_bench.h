#pragma once
// Reference figure for `vramsnap bench --target cuda`: pinned host-to-device
// copy bandwidth, measured the way restore copies (cudaMemcpyAsync from
// cudaHostAlloc memory on a non-blocking stream). In a build without CUDA or
// on a machine without a GPU it fails with Compat.
#include <cstdint>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"

namespace vramsnap::backend {

struct CopyBandwidth {
  std::string gpu_name;
  uint64_t bytes = 0;            // bytes per timed copy
  std::vector<double> seconds;   // one per timed copy (CUDA events)
};

// One untimed warm-up copy, then `iterations` timed copies of `bytes`.
Result<CopyBandwidth> measure_pinned_h2d(int device, uint64_t bytes, unsigned iterations);

}  // namespace vramsnap::backend
