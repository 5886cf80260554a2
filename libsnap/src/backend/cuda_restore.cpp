// CUDA sink: every GPU-placed region goes to the GPU its recorded ordinal maps
// to (device_map.h), laid out by device_layout.h, with each region checked
// against its GPU (compat.h) before anything is allocated. Each target GPU
// has its own staging pool and one stream per worker (cuda_gpu.h); a worker
// selects the chunk's GPU itself, so all GPUs fill in parallel from one read
// of the file. Host-verified chunks are decoded (or read) straight into a
// staging buffer when one is free and fits, otherwise into the worker's host
// buffer and copied in pieces; leaf-hashed raw chunks go unhashed from the
// file through staging into their destination and are hashed there
// (device_verify.h); leaf-hashed planes chunks go unhashed into a device
// staging area, are hashed there and decoded into their destination only
// where the hash matched (device_decode.h). Zero chunks are a cudaMemsetAsync. Modules are restored
// to host memory and loaded on their GPU. The caller's current context is put
// back on every exit.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "backend/device_restore.h"
#include "core/checked_math.h"
#include "io/aligned_buffer.h"
#include "pipeline/host_sink.h"

#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/compat.h"
#include "backend/cuda_check.h"
#include "backend/cuda_driver.h"
#include "backend/cuda_gpu.h"
#include "backend/cuda_resources.h"
#include "backend/device_info.h"
#include "backend/device_decode.h"
#include "backend/device_map.h"
#include "backend/device_verify.h"
#include "backend/staging_plan.h"
#include "pipeline/stages.h"
#endif

namespace vramsnap::backend {

#ifndef VRAMSNAP_HAVE_CUDA

Result<std::unique_ptr<pipeline::Sink>> make_cuda_sink(const SnapshotData&, const std::vector<size_t>&, const RestoreOptions&,
                                                       Restored::State&, PhaseTimes&) {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}

#else

namespace {

class CudaSink final : public pipeline::Sink {
 public:
  CudaSink(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt, Restored::State& out)
      : s_(s), regions_(regions), opt_(opt), out_(out), dev_base_(s.regions.size(), 0),
        host_base_(s.regions.size(), nullptr), gpu_of_(s.regions.size(), -1) {}

  // Resolves every region's GPU and checks compatibility (nothing allocated
  // yet), then creates each target GPU's primary context.
  Status init(PhaseTimes& times) {
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

  Status prepare(unsigned threads, PhaseTimes& times) override {
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

  Result<std::span<uint8_t>> acquire(unsigned w, size_t i, pipeline::WorkerClock&) override {
    const auto& c = s_.chunks[i];
    if (s_.regions[c.region].kind != RegionKind::Device)
      return std::span<uint8_t>(host_base_[c.region] + c.region_offset, c.raw_size);
    TargetGpu& g = gpu(c.region);
    // A chunk that fits a staging buffer free now lands in it directly: no
    // host copy. Never waits for one: buffers held through read, hash and
    // decode would otherwise cap the workers at the pool's size.
    if (g.has_pool() && c.raw_size <= g.pool().buffer_bytes()) {
      if (PinnedPool::Buffer* b = g.pool().try_take()) {
        workers_[w].held = b;
        return std::span<uint8_t>(b->data, c.raw_size);
      }
    }
    const auto dst = workers_[w].scratch.reserve(c.raw_size);
    if (dst.size() != c.raw_size)
      return Error(ErrorKind::Limit, fmt::format("{}: out of host memory for a {}-byte chunk buffer", s_.path, c.raw_size));
    return dst;
  }

  void abandon(unsigned w, size_t i) override {
    if (PinnedPool::Buffer* b = std::exchange(workers_[w].held, nullptr)) gpu(s_.chunks[i].region).pool().give_back(b);
  }

  Status commit(unsigned w, size_t i, std::span<uint8_t> bytes, pipeline::WorkerClock& clk) override {
    const auto& c = s_.chunks[i];
    if (s_.regions[c.region].kind != RegionKind::Device) return {};
    pipeline::PhaseTimer t(clk.copy_ns);
    TargetGpu& g = gpu(c.region);
    PinnedPool::Buffer* held = std::exchange(workers_[w].held, nullptr);
    const cudaError_t e = cudaSetDevice(g.ordinal());
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      if (held) g.pool().give_back(held);
      return cuda_error(e, "cudaSetDevice", __FILE__, __LINE__);
    }
    g.placed += c.raw_size;
    const uint64_t dst = dev_base_[c.region] + c.region_offset;
    if (held) return g.copy(w, held, reinterpret_cast<void*>(dst), bytes.size());
    return stage(w, g, dst, bytes);
  }

  // One region of a packed chunk (spec 5.5): a packed chunk scatters to as
  // many destinations as it holds regions.
  Status place_region(unsigned w, size_t r, std::span<const uint8_t> bytes, pipeline::WorkerClock& clk) override {
    pipeline::PhaseTimer t(clk.copy_ns);
    if (s_.regions[r].kind != RegionKind::Device) {
      std::memcpy(host_base_[r], bytes.data(), bytes.size());
      return {};
    }
    TargetGpu& g = gpu(r);
    SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
    g.placed += bytes.size();
    return stage(w, g, dev_base_[r], bytes);
  }

  // Host bytes to the device through the pool, in pieces of one buffer.
  Status stage(unsigned w, TargetGpu& g, uint64_t dst, std::span<const uint8_t> bytes) {
    for (const auto& piece : split_into_pieces(0, bytes.size(), g.pool().buffer_bytes())) {
      VRAMSNAP_ASSIGN_OR_RETURN(PinnedPool::Buffer * b, g.pool().take());
      std::memcpy(b->data, bytes.data() + piece.src_offset, piece.size);
      VRAMSNAP_TRY(g.copy(w, b, reinterpret_cast<void*>(dst + piece.dst_offset), piece.size));
    }
    return {};
  }

  // Zero chunks never cross PCIe: the worker's stream clears the range.
  Status commit_zero(unsigned w, size_t i, pipeline::WorkerClock& clk) override {
    const auto& c = s_.chunks[i];
    if (s_.regions[c.region].kind != RegionKind::Device) {
      pipeline::PhaseTimer t(clk.decode_ns);
      std::memset(host_base_[c.region] + c.region_offset, 0, c.raw_size);
      return {};
    }
    pipeline::PhaseTimer t(clk.copy_ns);
    TargetGpu& g = gpu(c.region);
    SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
    g.placed += c.raw_size;
    void* dst = reinterpret_cast<void*>(dev_base_[c.region] + c.region_offset);
    SNAP_CUDA_TRY(cudaMemsetAsync(dst, 0, c.raw_size, g.stream(w)));
    return {};
  }

  bool verifies(size_t i) const override { return device_verify_[i]; }

  // Stored bytes go from the file into pinned staging and over PCIe straight
  // into their destination, unhashed; the chunk joins its stream's batch and
  // is hashed on the GPU after those copies.
  Status place_unverified(unsigned w, size_t i, pipeline::WorkerClock& clk) override {
    if (device_decode_[i]) return place_decoded(w, i, clk);
    const auto& c = s_.chunks[i];
    TargetGpu& g = gpu(c.region);
    SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
    const uint64_t dst = dev_base_[c.region] + c.region_offset;
    for (const auto& piece : split_into_pieces(0, c.stored_size, g.pool().buffer_bytes())) {
      VRAMSNAP_ASSIGN_OR_RETURN(PinnedPool::Buffer * b, g.pool().take());
      auto st = pipeline::read_unverified(s_, i, piece.src_offset, {b->data, piece.size}, clk);
      if (!st.ok()) {
        g.pool().give_back(b);
        return st;
      }
      pipeline::PhaseTimer t(clk.copy_ns);
      VRAMSNAP_TRY(g.copy(w, b, reinterpret_cast<void*>(dst + piece.dst_offset), piece.size));
    }
    g.placed += c.raw_size;
    g.verified += c.raw_size;
    pipeline::PhaseTimer t(clk.copy_ns);
    return g.verify(w, i, dst, c.raw_size, c.hash);
  }

  // Stored bytes of a planes chunk go from the file through pinned staging
  // into the stream's device staging area, unhashed; the stream's decode
  // batch hashes them there and decodes the matching ones into place.
  Status place_decoded(unsigned w, size_t i, pipeline::WorkerClock& clk) {
    const auto& c = s_.chunks[i];
    TargetGpu& g = gpu(c.region);
    SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
    VRAMSNAP_ASSIGN_OR_RETURN(const uint64_t at, g.stage(w, i, c, dev_base_[c.region] + c.region_offset));
    for (const auto& piece : split_into_pieces(0, c.stored_size, g.pool().buffer_bytes())) {
      auto b = g.pool().take();
      if (!b.ok()) {
        g.unstage(w);
        return std::move(b).error();
      }
      auto st = pipeline::read_unverified(s_, i, piece.src_offset, {(*b)->data, piece.size}, clk);
      if (!st.ok()) {
        g.pool().give_back(*b);
        g.unstage(w);
        return st;
      }
      pipeline::PhaseTimer t(clk.copy_ns);
      st = g.copy(w, *b, reinterpret_cast<void*>(at + piece.dst_offset), piece.size);
      if (!st.ok()) {
        g.unstage(w);
        return st;
      }
    }
    g.placed += c.raw_size;
    g.verified += c.raw_size;
    g.decoded += c.raw_size;
    pipeline::PhaseTimer t(clk.copy_ns);
    return g.staged(w);
  }

  Status finish(PhaseTimes& times) override {
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

  std::vector<pipeline::ChunkFailure> deferred_failures() override {
    if (!drained_) {
      auto st = drain();
      if (!st.ok()) failures_.push_back({SIZE_MAX, std::move(st).error()});
    }
    return failures_;
  }

 private:
  struct Worker {
    io::AlignedBuffer scratch;
    PinnedPool::Buffer* held = nullptr;  // lent by acquire, returned by commit or abandon
  };

  TargetGpu& gpu(size_t region) { return *gpus_[gpu_of_[region]]; }

  Status drain() {
    if (drained_) return {};
    drained_ = true;
    for (auto& g : gpus_) VRAMSNAP_TRY(g->drain(s_, failures_));
    return {};
  }

  // Arenas, fixed-VA mappings, managed memory and host buffers, as
  // device_layout plans them; fills dev_base_, host_base_ and out_.regions.
  Status place_regions() {
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
      rr.meta = m;
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

  // Read-mostly regions: the driver may keep read-only copies where they are
  // read; prefetch so the first kernel does not fault pages over.
  Status prefetch_read_mostly() {
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

  Status load_modules() {
    for (auto& rr : out_.regions) {
      if (rr.meta.kind != RegionKind::Module || !opt_.load_modules || !rr.host) continue;
      // Now that the image is verified its kind is known (cubin, PTX, fatbin):
      // refuse a cubin for another major before the driver is asked.
      for (const auto& t : targets_) {
        if (t.ordinal != rr.device) continue;
        const auto image = classify_module_image(static_cast<const uint8_t*>(rr.host), rr.meta.size);
        const RegionCompat c = region_compat(rr.meta, s_.meta.source, t, false, image);
        if (!c.compatible)
          return Error(ErrorKind::Compat, fmt::format("{}: region \"{}\": {}", s_.path, rr.meta.name, c.reason));
      }
      SNAP_CUDA_TRY(cudaSetDevice(rr.device));
      VRAMSNAP_ASSIGN_OR_RETURN(rr.module, res_->load_module(rr.device, rr.host,
                                                             opt_.warm_modules || (rr.meta.flags & kFlagWarm),
                                                             fmt::format("module region \"{}\"", rr.meta.name)));
    }
    return {};
  }

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

}  // namespace

Result<std::unique_ptr<pipeline::Sink>> make_cuda_sink(const SnapshotData& snap, const std::vector<size_t>& regions,
                                                       const RestoreOptions& options, Restored::State& out,
                                                       PhaseTimes& times) {
  auto p = std::make_unique<CudaSink>(snap, regions, options, out);
  VRAMSNAP_TRY(p->init(times));
  return std::unique_ptr<pipeline::Sink>(std::move(p));
}

#endif

}  // namespace vramsnap::backend
