#pragma once
// The CUDA sink for restore (backend/cuda_sink.h). In a build without
// CUDA, or on a machine without a GPU, make_cuda_sink fails with Compat.
#include <memory>
#include <vector>

#include "format/snapshot_data.h"
#include "pipeline/sink.h"

namespace vramsnap::backend {

Result<std::unique_ptr<pipeline::Sink>> make_cuda_sink(const SnapshotData& snap, const std::vector<size_t>& regions,
                                                       const RestoreOptions& options, Restored::State& out,
                                                       PhaseTimes& times);

}  // namespace vramsnap::backend
