// Setting up the CUDA sink (cuda_sink.h): each region's GPU, compatibility,
// primary contexts, which chunks each GPU hashes or decodes itself, staging
// sized to them, and the memory every region is restored into.
#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_sink.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "backend/compat.h"
#include "backend/cuda_check.h"
#include "backend/device_decode.h"
#include "backend/device_verify.h"
#include "core/checked_math.h"
#include "pipeline/host_sink.h"

namespace vramsnap::backend {

Status CudaSink::init(PhaseTimes& times) {
  const uint64_t t0 = pipeline::now_ns();
  VRAMSNAP_TRY(check_verify_on(opt_.verify_on, device_kernels_built()));
  // The device count first: without a driver it says so in the driver's words.
  VRAMSNAP_ASSIGN_OR_RETURN(const int count, cuda_device_count());
  if (count == 0) return Error(ErrorKind::Compat, "no CUDA GPU found on this machine (the driver reports 0 devices)");
  VRAMSNAP_ASSIGN_OR_RETURN(api_, driver_api());
  ctx_guard_.emplace(*api_);
  if (opt_.device < 0 || opt_.device >= count)
    return Error(ErrorKind::Compat, fmt::format("CUDA device {} does not exist (this machine has {})", opt_.device, count));
  // Unselected regions count as host memory: nothing of theirs is placed.
  std::vector<RegionMeta> selected(s_.regions);
  std::vector<bool> chosen(s_.regions.size(), false);
  for (size_t r : regions_) chosen[r] = true;
  for (size_t r = 0; r < selected.size(); ++r)
    if (!chosen[r]) selected[r].kind = RegionKind::Other;
  DeviceMap map;
  map.pairs = opt_.device_map;
  if (map.empty()) map = collapse_to(selected, opt_.device);
  auto assigned = resolve_devices(selected, map, opt_.device, count);
  if (!assigned.ok()) return std::move(assigned).error().with_context(s_.path + ": ");
  assignment_ = std::move(assigned).value();
  VRAMSNAP_ASSIGN_OR_RETURN(targets_, describe_devices(assignment_.devices));
  auto compat = check_restore_compat(selected, s_.meta.source, assignment_.region_device, targets_, opt_.fixed_va);
  if (!compat.ok()) return std::move(compat).error().with_context(s_.path + ": ");
  for (int d : assignment_.devices) {
    SNAP_CUDA_TRY(cudaSetDevice(d));
    SNAP_CUDA_TRY(cudaFree(nullptr));  // creates the primary context now, so it is timed apart
    gpus_.push_back(std::make_unique<TargetGpu>(d));
  }
  for (size_t r : regions_)
    for (size_t k = 0; k < gpus_.size(); ++k)
      if (gpus_[k]->ordinal() == assignment_.region_device[r]) gpu_of_[r] = static_cast<int>(k);
  times.context_init += pipeline::seconds_since(t0);
  auto res = std::make_unique<CudaResources>();
  res->api = api_;
  res_ = res.get();
  out_.device = std::move(res);
  return {};
}

Status CudaSink::prepare(unsigned threads, PhaseTimes& times) {
  const uint64_t t0 = pipeline::now_ns();
  VRAMSNAP_TRY(place_regions());
  device_verify_.assign(s_.chunks.size(), false);
  device_decode_.assign(s_.chunks.size(), false);
  for (size_t r : regions_) {
    if (s_.regions[r].kind != RegionKind::Device) continue;
    for (size_t i = s_.region_ranges[r].first; i < s_.region_ranges[r].second; ++i) {
      const auto& c = s_.chunks[i];
      device_decode_[i] = decode_on_device(opt_.verify_on, device_kernels_built(), s_.chunk_hash, c, RegionKind::Device);
      device_verify_[i] = device_decode_[i] || verify_on_device(opt_.verify_on, device_kernels_built(), s_.chunk_hash, c,
                                                                RegionKind::Device, dev_base_[r] + c.region_offset);
    }
  }
  for (size_t k = 0; k < gpus_.size(); ++k) {
    uint64_t largest = 0;
    uint32_t verified = 0;
    std::vector<uint64_t> staged;
    for (size_t r : regions_) {
      if (s_.regions[r].kind != RegionKind::Device || gpu_of_[r] != static_cast<int>(k)) continue;
      for (size_t i = s_.region_ranges[r].first; i < s_.region_ranges[r].second; ++i) {
        if (s_.chunks[i].codec != Codec::Zero) largest = std::max(largest, s_.chunks[i].raw_size);
        verified += device_verify_[i] ? 1 : 0;
        if (device_decode_[i]) staged.push_back(s_.chunks[i].stored_size);
      }
    }
    VRAMSNAP_TRY(gpus_[k]->prepare(threads, largest, verified, staging_area_bytes(staged, kDecodeStagingBytes),
                                   opt_.staging));
  }
  workers_.resize(threads);
  times.allocate += pipeline::seconds_since(t0);
  return {};
}


Status CudaSink::place_regions() {
  uint64_t granularity = 1;
  if (opt_.fixed_va)
    for (const auto& g : gpus_) {
      VRAMSNAP_ASSIGN_OR_RETURN(const uint64_t gr, vmm_granularity(*api_, g->ordinal()));
      granularity = std::max(granularity, gr);
    }
  VRAMSNAP_ASSIGN_OR_RETURN(layout_, plan_device_layout(s_.regions, regions_, assignment_.region_device,
                                                        opt_.fixed_va, granularity));
  std::map<int, uint64_t> arenas;
  for (const auto& [dev, bytes] : layout_.arena_bytes) {
    SNAP_CUDA_TRY(cudaSetDevice(dev));
    VRAMSNAP_ASSIGN_OR_RETURN(void* arena, res_->alloc_arena(dev, bytes, s_.path));
    arenas[dev] = reinterpret_cast<uint64_t>(arena);
  }
  if (layout_.va) {
    for (const auto& rv : layout_.va->reservations) {
      SNAP_CUDA_TRY(cudaSetDevice(rv.device));
      VRAMSNAP_TRY(res_->map_fixed(rv, s_.path));
    }
    for (size_t k = 0; k < layout_.va_regions.size(); ++k) {
      const auto& pl = *layout_.va->placements[k];
      dev_base_[layout_.va_regions[k]] = layout_.va->reservations[pl.reservation].base + pl.offset;
    }
  }
  pipeline::HostBudget budget(opt_);
  for (size_t r : regions_) {
    const auto& m = s_.regions[r];
    const RegionPlacement& pl = layout_.regions[r];
    RestoredRegion rr;
    rr.index = r;
    rr.meta = &m;
    rr.device = pl.device;
    if (pl.how == Placement::Arena) {
      if (m.size) dev_base_[r] = arenas.at(pl.device) + pl.offset;
    } else if (pl.how == Placement::Managed) {
      // Managed memory, so that cudaMemAdvise(SetReadMostly) applies.
      SNAP_CUDA_TRY(cudaSetDevice(pl.device));
      VRAMSNAP_ASSIGN_OR_RETURN(void* p, res_->alloc_managed(pl.device, m.size,
                                                             fmt::format("{}: region \"{}\"", s_.path, m.name)));
      dev_base_[r] = reinterpret_cast<uint64_t>(p);
    } else if (pl.how == Placement::Host && m.size) {
      // Module images get one NUL after them: cuModuleLoadData reads PTX
      // as a C string, and a recorded image need not end in one.
      const uint64_t extra = m.kind == RegionKind::Module ? 1 : 0;
      const auto bytes = core::checked_add(m.size, extra);
      if (!bytes) return Error(ErrorKind::Limit, fmt::format("{}: region \"{}\" is too large", s_.path, m.name));
      VRAMSNAP_TRY(budget.charge(s_, m, *bytes));
      void* p = nullptr;
      if (posix_memalign(&p, 4096, *bytes) != 0 || !p)
        return Error(ErrorKind::Limit, fmt::format("{}: out of host memory for region \"{}\"", s_.path, m.name));
      if (extra) static_cast<uint8_t*>(p)[m.size] = 0;
      out_.host_owned.push_back(p);
      host_base_[r] = static_cast<uint8_t*>(p);
      rr.host = p;
    }
    if (m.kind == RegionKind::Device) rr.device_ptr = dev_base_[r];
    out_.regions.push_back(std::move(rr));
  }
  return {};
}

}  // namespace vramsnap::backend
#endif
