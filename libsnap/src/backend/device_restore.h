#pragma once
// CUDA placement for restore (backend/cuda_restore.cpp). In a build without
// CUDA, or on a machine without a GPU, make_cuda_placement fails with Compat.
#include <memory>
#include <vector>

#include "pipeline/placement.h"

namespace vramsnap::backend {

Result<std::unique_ptr<pipeline::Placement>> make_cuda_placement(const SnapshotData& snap,
                                                                 const std::vector<size_t>& regions,
                                                                 const RestoreOptions& options,
                                                                 Restored::State& out, PhaseTimes& times);

}  // namespace vramsnap::backend
