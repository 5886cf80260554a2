// Finishing the CUDA sink (cuda_sink.h): waiting for every GPU's copies and
// verdicts, prefetching read-mostly regions, and loading module regions, now
// verified, on their GPU.
#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_sink.h"

#include <fmt/format.h>

#include "backend/compat.h"
#include "backend/cuda_check.h"

namespace vramsnap::backend {

Status CudaSink::finish(PhaseTimes& times) {
  uint64_t t0 = pipeline::now_ns();
  // Copies are timed to completion: the wait for the last ones counts.
  VRAMSNAP_TRY(drain());
  if (!failures_.empty())
    return Error(ErrorKind::Integrity, fmt::format("{}: {} chunk{} failed verification on the GPU", s_.path,
                                                   failures_.size(), failures_.size() == 1 ? "" : "s"));
  VRAMSNAP_TRY(prefetch_read_mostly());
  times.copy += pipeline::seconds_since(t0);
  t0 = pipeline::now_ns();
  VRAMSNAP_TRY(load_modules());
  times.module_load += pipeline::seconds_since(t0);
  for (const auto& g : gpus_) {
    out_.stats.device_bytes[g->ordinal()] = g->placed.load();
    out_.stats.device_verified_bytes += g->verified.load();
    out_.stats.device_decoded_bytes += g->decoded.load();
  }
  return {};
}

std::vector<pipeline::ChunkFailure> CudaSink::deferred_failures() {
  if (!drained_) {
    auto st = drain();
    if (!st.ok()) failures_.push_back({SIZE_MAX, std::move(st).error()});
  }
  return failures_;
}


Status CudaSink::drain() {
  if (drained_) return {};
  drained_ = true;
  for (auto& g : gpus_) VRAMSNAP_TRY(g->drain(s_, failures_));
  return {};
}


// Read-mostly regions: the driver may keep read-only copies where they are
// read; prefetch so the first kernel does not fault pages over.
Status CudaSink::prefetch_read_mostly() {
  for (size_t r : regions_) {
    if (layout_.regions[r].how != Placement::Managed) continue;
    TargetGpu& g = gpu(r);
    SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
    cudaMemLocation loc{};
    loc.type = cudaMemLocationTypeDevice;
    loc.id = g.ordinal();
    void* p = reinterpret_cast<void*>(dev_base_[r]);
    SNAP_CUDA_TRY(cudaMemAdvise(p, s_.regions[r].size, cudaMemAdviseSetReadMostly, loc));
    SNAP_CUDA_TRY(cudaMemPrefetchAsync(p, s_.regions[r].size, loc, 0, g.stream(0)));
  }
  for (auto& g : gpus_) {
    SNAP_CUDA_TRY(cudaSetDevice(g->ordinal()));
    SNAP_CUDA_TRY(cudaStreamSynchronize(g->stream(0)));
  }
  return {};
}

Status CudaSink::load_modules() {
  for (auto& rr : out_.regions) {
    if (rr.meta->kind != RegionKind::Module || !opt_.load_modules || !rr.host) continue;
    // Now that the image is verified its kind is known (cubin, PTX, fatbin):
    // refuse a cubin for another major before the driver is asked.
    for (const auto& t : targets_) {
      if (t.ordinal != rr.device) continue;
      const auto image = classify_module_image(static_cast<const uint8_t*>(rr.host), rr.meta->size);
      const RegionCompat c = region_compat(*rr.meta, s_.meta.source, t, false, image);
      if (!c.compatible)
        return Error(ErrorKind::Compat, fmt::format("{}: region \"{}\": {}", s_.path, rr.meta->name, c.reason));
    }
    SNAP_CUDA_TRY(cudaSetDevice(rr.device));
    VRAMSNAP_ASSIGN_OR_RETURN(rr.module, res_->load_module(rr.device, rr.host,
                                                           opt_.warm_modules || (rr.meta->flags & kFlagWarm),
                                                           fmt::format("module region \"{}\"", rr.meta->name)));
  }
  return {};
}

}  // namespace vramsnap::backend
#endif
