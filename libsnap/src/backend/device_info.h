#pragma once
// What this machine's GPUs are, in the terms of the pure planning functions
// (device_map.h, compat.h): how many there are, and for each its compute
// capability, driver version and VMM support. Queried once per restore,
// before anything is allocated.
#include <vector>

#include "backend/compat.h"
#include "vramsnap/error.hpp"

namespace vramsnap::backend {

// Number of usable CUDA GPUs; Compat error (what the driver said) when there
// is no usable driver. 0 is not an error here: resolve_devices reports it.
Result<int> cuda_device_count();

// The description of GPU `ordinal` (compat.h's TargetDevice).
Result<TargetDevice> describe_device(int ordinal);

// Every GPU in `ordinals`, in that order.
Result<std::vector<TargetDevice>> describe_devices(const std::vector<int>& ordinals);

}  // namespace vramsnap::backend
