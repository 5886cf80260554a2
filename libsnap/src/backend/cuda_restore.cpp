// CUDA sink: verified chunks decode into a per-worker host buffer and go to
// device memory in pieces through a bounded pool of pinned staging buffers,
// with cudaMemcpyAsync on one stream per worker, so reading, hashing and
// decoding of the next chunk overlap the copy of the previous one. Zero
// chunks are a cudaMemsetAsync on that stream. Every worker selects the
// target device itself; the caller's current context is restored on exit. Device regions share one arena per restore (aligned
// offsets), or, with fixed_va, are mapped at their recorded addresses through
// the VMM driver API. Module regions are restored to host memory and loaded
// with cuModuleLoadData.
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "backend/device_restore.h"
#include "core/checked_math.h"
#include "io/aligned_buffer.h"
#include "pipeline/host_sink.h"

#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_check.h"
#include "backend/cuda_driver.h"
#include "backend/pinned_pool.h"
#include "backend/staging_plan.h"
#endif

namespace vramsnap::backend {

#ifndef VRAMSNAP_HAVE_CUDA

Result<std::unique_ptr<pipeline::Sink>> make_cuda_sink(const SnapshotData&, const std::vector<size_t>&, const RestoreOptions&,
                                                       Restored::State&, PhaseTimes&) {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}

#else

namespace {

constexpr uint64_t kArenaAlign = 256;

// Everything on the device that outlives the placement: owned by the
// Restored object until release().
struct CudaResources final : DeviceResources {
  const DriverApi* api = nullptr;
  int device = 0;
  void* arena = nullptr;
  std::vector<void*> managed;  // read-mostly regions (cudaMallocManaged)
  struct Mapping { CUdeviceptr va; size_t size; CUmemGenericAllocationHandle handle; bool mapped; };
  std::vector<Mapping> mappings;
  std::vector<CUmodule> modules;
  bool owned = true;

  void disown() override { owned = false; }
  ~CudaResources() override {
    if (!owned) return;
    CurrentContextGuard keep(*api);
    cudaSetDevice(device);
    for (auto m : modules) api->cuModuleUnload(m);
    for (const auto& m : mappings) {
      if (m.mapped) api->cuMemUnmap(m.va, m.size);
      if (m.handle) api->cuMemRelease(m.handle);
      api->cuMemAddressFree(m.va, m.size);
    }
    if (arena) cudaFree(arena);
    for (void* p : managed) cudaFree(p);
  }
};

class CudaSink final : public pipeline::Sink {
 public:
  CudaSink(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt,
                Restored::State& out)
      : s_(s), regions_(regions), opt_(opt), out_(out), dev_base_(s.regions.size(), 0), host_base_(s.regions.size(), nullptr) {}

  ~CudaSink() override {
    if (api_) cudaSetDevice(opt_.device);
    for (auto& w : workers_) {
      if (w.stream) cudaStreamSynchronize(w.stream);
      if (w.stream) cudaStreamDestroy(w.stream);
    }
    pool_.reset();
  }

  Status init(PhaseTimes& times) {
    uint64_t t0 = pipeline::now_ns();
    VRAMSNAP_ASSIGN_OR_RETURN(api_, driver_api());
    ctx_guard_.emplace(*api_);
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
      (void)cudaGetLastError();
      return Error(ErrorKind::Compat, e == cudaErrorInsufficientDriver
                                          ? "no usable CUDA driver on this machine (no NVIDIA driver, or one too old)"
                                          : "no CUDA GPU found on this machine");
    }
    if (opt_.device < 0 || opt_.device >= count)
      return Error(ErrorKind::Compat, fmt::format("CUDA device {} does not exist (this machine has {})", opt_.device, count));
    SNAP_CUDA_TRY(cudaSetDevice(opt_.device));
    SNAP_CUDA_TRY(cudaFree(nullptr));  // creates the primary context now, so it is timed apart
    times.context_init += pipeline::seconds_since(t0);
    auto res = std::make_unique<CudaResources>();
    res->api = api_;
    res->device = opt_.device;
    res_ = res.get();
    out_.device = std::move(res);
    return {};
  }

  Status prepare(unsigned threads, PhaseTimes& times) override {
    const uint64_t t0 = pipeline::now_ns();
    SNAP_CUDA_TRY(cudaSetDevice(opt_.device));
    uint64_t arena_size = 0;
    std::vector<uint64_t> offsets(s_.regions.size(), 0);
    for (size_t r : regions_) {
      const auto& m = s_.regions[r];
      if (m.kind != RegionKind::Device || m.size == 0) continue;
      if ((m.flags & kFlagReadMostly) && !opt_.fixed_va) {
        VRAMSNAP_TRY(alloc_read_mostly(r));
      } else if (opt_.fixed_va) {
        if (!m.va)
          return Error(ErrorKind::Usage, fmt::format("{}: region \"{}\" has no recorded address, so it cannot be placed at a fixed address", s_.path, m.name));
        VRAMSNAP_TRY(map_fixed(r));
      } else {
        offsets[r] = core::align_up(arena_size, kArenaAlign);
        arena_size = offsets[r] + m.size;
      }
    }
    if (arena_size) {
      cudaError_t e = cudaMalloc(&res_->arena, arena_size);
      if (e != cudaSuccess) {
        (void)cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        return Error(e == cudaErrorMemoryAllocation ? ErrorKind::Resource : cuda_error_kind(e),
                     fmt::format("{}: cannot allocate {} bytes of device memory on GPU {} ({} free of {}): {}", s_.path,
                                 arena_size, opt_.device, free_b, total_b, cudaGetErrorString(e)));
      }
    }
    pipeline::HostBudget budget(opt_);
    for (size_t r : regions_) {
      const auto& m = s_.regions[r];
      RestoredRegion rr;
      rr.index = r;
      rr.meta = m;
      if (m.kind == RegionKind::Device) {
        if (!opt_.fixed_va && m.size && !(m.flags & kFlagReadMostly))
          dev_base_[r] = reinterpret_cast<uint64_t>(res_->arena) + offsets[r];
        rr.device_ptr = dev_base_[r];
      } else if (m.size) {
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
      out_.regions.push_back(std::move(rr));
    }
    // Pinned staging: one bounded pool shared by all workers.
    uint64_t largest = 0;
    for (size_t r : regions_) {
      if (s_.regions[r].kind != RegionKind::Device) continue;
      for (size_t i = s_.region_ranges[r].first; i < s_.region_ranges[r].second; ++i)
        if (s_.chunks[i].codec != Codec::Zero) largest = std::max(largest, s_.chunks[i].raw_size);
    }
    workers_.resize(threads);
    for (auto& w : workers_) SNAP_CUDA_TRY(cudaStreamCreateWithFlags(&w.stream, cudaStreamNonBlocking));
    if (largest) {
      VRAMSNAP_ASSIGN_OR_RETURN(const StagingPlan plan, plan_staging(StagingOptions{}, largest));
      pool_ = std::make_unique<PinnedPool>();
      VRAMSNAP_TRY(pool_->init(plan));
    }
    times.allocate += pipeline::seconds_since(t0);
    return {};
  }

  Result<std::span<uint8_t>> acquire(unsigned w, size_t i, pipeline::WorkerClock&) override {
    const auto& c = s_.chunks[i];
    if (s_.regions[c.region].kind != RegionKind::Device)
      return std::span<uint8_t>(host_base_[c.region] + c.region_offset, c.raw_size);
    // Decoded on the host first; commit stages it to the device in pieces.
    const auto dst = workers_[w].scratch.reserve(c.raw_size);
    if (dst.size() != c.raw_size)
      return Error(ErrorKind::Limit, fmt::format("{}: out of host memory for a {}-byte chunk buffer", s_.path, c.raw_size));
    return dst;
  }

  Status commit(unsigned w, size_t i, std::span<uint8_t> bytes, pipeline::WorkerClock& clk) override {
    const auto& c = s_.chunks[i];
    if (s_.regions[c.region].kind != RegionKind::Device) return {};
    pipeline::PhaseTimer t(clk.copy_ns);
    SNAP_CUDA_TRY(cudaSetDevice(opt_.device));
    auto& wk = workers_[w];
    for (const auto& piece : split_into_pieces(c.region_offset, bytes.size(), pool_->buffer_bytes())) {
      VRAMSNAP_ASSIGN_OR_RETURN(PinnedPool::Buffer * b, pool_->take());
      std::memcpy(b->data, bytes.data() + piece.src_offset, piece.size);
      void* dst = reinterpret_cast<void*>(dev_base_[c.region] + piece.dst_offset);
      cudaError_t e = cudaMemcpyAsync(dst, b->data, piece.size, cudaMemcpyHostToDevice, wk.stream);
      if (e == cudaSuccess) e = cudaEventRecord(b->done, wk.stream);
      pool_->give_back(b);
      if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return cuda_error(e, "cudaMemcpyAsync(staging to device)", __FILE__, __LINE__);
      }
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
    SNAP_CUDA_TRY(cudaSetDevice(opt_.device));
    void* dst = reinterpret_cast<void*>(dev_base_[c.region] + c.region_offset);
    SNAP_CUDA_TRY(cudaMemsetAsync(dst, 0, c.raw_size, workers_[w].stream));
    return {};
  }

  Status finish(PhaseTimes& times) override {
    uint64_t t0 = pipeline::now_ns();
    SNAP_CUDA_TRY(cudaSetDevice(opt_.device));
    // Copies are timed to completion: the wait for the last ones counts.
    for (auto& w : workers_) SNAP_CUDA_TRY(cudaStreamSynchronize(w.stream));
    // Read-mostly regions: the driver may keep read-only copies where they are
    // read; prefetch so the first kernel does not fault pages over.
    cudaMemLocation loc{};
    loc.type = cudaMemLocationTypeDevice;
    loc.id = opt_.device;
    for (size_t r : regions_) {
      const auto& m = s_.regions[r];
      if (m.kind != RegionKind::Device || !(m.flags & kFlagReadMostly) || opt_.fixed_va || !m.size) continue;
      void* p = reinterpret_cast<void*>(dev_base_[r]);
      SNAP_CUDA_TRY(cudaMemAdvise(p, m.size, cudaMemAdviseSetReadMostly, loc));
      SNAP_CUDA_TRY(cudaMemPrefetchAsync(p, m.size, loc, 0, workers_.empty() ? nullptr : workers_[0].stream));
    }
    if (!workers_.empty()) SNAP_CUDA_TRY(cudaStreamSynchronize(workers_[0].stream));
    times.copy += pipeline::seconds_since(t0);
    t0 = pipeline::now_ns();
    for (auto& rr : out_.regions) {
      if (rr.meta.kind != RegionKind::Module || !opt_.load_modules || !rr.host) continue;
      CUmodule mod = nullptr;
      CUresult r = api_->cuModuleLoadData(&mod, rr.host);
      if (r != CUDA_SUCCESS)
        return driver_error(*api_, r, fmt::format("cuModuleLoadData (module region \"{}\")", rr.meta.name).c_str());
      res_->modules.push_back(mod);
      rr.module = mod;
      if ((opt_.warm_modules || (rr.meta.flags & kFlagWarm)) && api_->cuModuleGetFunctionCount) {
        unsigned n = 0;
        SNAP_CU_TRY(*api_, api_->cuModuleGetFunctionCount(&n, mod), "cuModuleGetFunctionCount");
        std::vector<CUfunction> fns(n);
        if (n) SNAP_CU_TRY(*api_, api_->cuModuleEnumerateFunctions(fns.data(), n, mod), "cuModuleEnumerateFunctions");
        for (auto f : fns) SNAP_CU_TRY(*api_, api_->cuFuncLoad(f), "cuFuncLoad");
      }
    }
    times.module_load += pipeline::seconds_since(t0);
    return {};
  }

 private:
  // Managed memory so cudaMemAdvise(SetReadMostly) applies; never more than
  // the device has free (oversubscribing managed memory can stall the GPU).
  // The check is cumulative: the free figure is taken once, before the
  // first managed allocation, and every read-mostly region counts against it.
  Status alloc_read_mostly(size_t r) {
    const auto& m = s_.regions[r];
    if (!managed_free_) {
      size_t free_b = 0, total_b = 0;
      SNAP_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
      managed_free_ = free_b;
    }
    const auto total = core::checked_add(managed_bytes_, m.size);
    if (!total || *total > *managed_free_)
      return Error(ErrorKind::Resource, fmt::format("{}: read-mostly region \"{}\" needs {} bytes ({} for all read-mostly "
                                                    "regions so far) but GPU {} had {} free",
                                                    s_.path, m.name, m.size, total ? *total : UINT64_MAX, opt_.device,
                                                    *managed_free_));
    managed_bytes_ = *total;
    void* p = nullptr;
    SNAP_CUDA_TRY(cudaMallocManaged(&p, m.size, cudaMemAttachGlobal));
    res_->managed.push_back(p);
    dev_base_[r] = reinterpret_cast<uint64_t>(p);
    return {};
  }

  Status map_fixed(size_t r) {
    const auto& m = s_.regions[r];
    CUmemAllocationProp prop{};
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = opt_.device;
    size_t gran = 0;
    SNAP_CU_TRY(*api_, api_->cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
                "cuMemGetAllocationGranularity");
    if (*m.va % gran != 0)
      return Error(ErrorKind::Compat, fmt::format("{}: region \"{}\" was at 0x{:x}, which is not aligned to this GPU's "
                                                  "mapping granularity ({} bytes); restore without fixed addresses",
                                                  s_.path, m.name, *m.va, gran));
    const size_t size = core::align_up(m.size, gran);
    CUdeviceptr got = 0;
    SNAP_CU_TRY(*api_, api_->cuMemAddressReserve(&got, size, 0, static_cast<CUdeviceptr>(*m.va), 0), "cuMemAddressReserve");
    res_->mappings.push_back({got, size, 0, false});
    if (got != *m.va)
      return Error(ErrorKind::Resource, fmt::format("{}: region \"{}\" needs device addresses 0x{:x}..0x{:x}, but that range "
                                                    "is taken in this process (got 0x{:x}); restore without fixed addresses, "
                                                    "or restore before other GPU allocations", s_.path, m.name, *m.va,
                                                    *m.va + size, got));
    auto& mp = res_->mappings.back();
    SNAP_CU_TRY(*api_, api_->cuMemCreate(&mp.handle, size, &prop, 0), "cuMemCreate");
    SNAP_CU_TRY(*api_, api_->cuMemMap(got, size, 0, mp.handle, 0), "cuMemMap");
    mp.mapped = true;
    CUmemAccessDesc access{};
    access.location = prop.location;
    access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    SNAP_CU_TRY(*api_, api_->cuMemSetAccess(got, size, &access, 1), "cuMemSetAccess");
    dev_base_[r] = got;
    return {};
  }

  struct Worker { cudaStream_t stream = nullptr; io::AlignedBuffer scratch; };

  // First member, so destroyed last: after the streams and staging are gone.
  std::optional<CurrentContextGuard> ctx_guard_;
  const SnapshotData& s_;
  const std::vector<size_t>& regions_;
  const RestoreOptions& opt_;
  Restored::State& out_;
  const DriverApi* api_ = nullptr;
  CudaResources* res_ = nullptr;
  std::vector<uint64_t> dev_base_;
  std::vector<uint8_t*> host_base_;
  std::vector<Worker> workers_;
  std::unique_ptr<PinnedPool> pool_;
  std::optional<uint64_t> managed_free_;
  uint64_t managed_bytes_ = 0;
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
