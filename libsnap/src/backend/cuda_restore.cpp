// make_cuda_sink: restore into the calling process's GPUs through the CUDA
// sink (cuda_sink.h), or a clear error from a build without CUDA.
#include "backend/device_restore.h"

#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_sink.h"
#endif

namespace vramsnap::backend {

#ifndef VRAMSNAP_HAVE_CUDA

Result<std::unique_ptr<pipeline::Sink>> make_cuda_sink(const SnapshotData&, const std::vector<size_t>&, const RestoreOptions&,
                                                       Restored::State&, PhaseTimes&) {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}

#else

Result<std::unique_ptr<pipeline::Sink>> make_cuda_sink(const SnapshotData& snap, const std::vector<size_t>& regions,
                                                       const RestoreOptions& options, Restored::State& out,
                                                       PhaseTimes& times) {
  auto p = std::make_unique<CudaSink>(snap, regions, options, out);
  VRAMSNAP_TRY(p->init(times));
  return std::unique_ptr<pipeline::Sink>(std::move(p));
}

#endif

}  // namespace vramsnap::backend
