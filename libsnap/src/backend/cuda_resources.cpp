// Allocation and release of a cuda restore's device memory (cuda_resources.h).
#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_resources.h"

#include <fmt/format.h>

#include "backend/cuda_check.h"
#include "core/checked_math.h"

namespace vramsnap::backend {
namespace {

CUmemAllocationProp device_prop(int device) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = device;
  return prop;
}

}  // namespace

Result<uint64_t> vmm_granularity(const DriverApi& api, int device) {
  const CUmemAllocationProp prop = device_prop(device);
  size_t gran = 0;
  SNAP_CU_TRY(api, api.cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
              "cuMemGetAllocationGranularity");
  return static_cast<uint64_t>(gran);
}

CudaResources::~CudaResources() {
  if (!owned || !api) return;
  CurrentContextGuard keep(*api);
  for (const auto& m : modules) {
    cudaSetDevice(m.device);
    api->cuModuleUnload(m.module);
  }
  for (const auto& m : mappings) {
    cudaSetDevice(m.device);
    if (m.mapped) api->cuMemUnmap(m.va, m.size);
    if (m.handle) api->cuMemRelease(m.handle);
    api->cuMemAddressFree(m.va, m.size);
  }
  for (const auto& a : allocations) {
    cudaSetDevice(a.device);
    cudaFree(a.ptr);
  }
  (void)cudaGetLastError();
}

Result<void*> CudaResources::alloc_arena(int device, uint64_t bytes, const std::string& path) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    return Error(e == cudaErrorMemoryAllocation ? ErrorKind::Resource : cuda_error_kind(e),
                 fmt::format("{}: cannot allocate {} bytes of device memory on GPU {} ({} free of {}): {}", path, bytes,
                             device, free_b, total_b, cudaGetErrorString(e)));
  }
  allocations.push_back({device, p});
  return p;
}

Result<void*> CudaResources::alloc_managed(int device, uint64_t bytes, const std::string& what) {
  ManagedBudget& budget = managed[device];
  if (!budget.known) {
    size_t free_b = 0, total_b = 0;
    SNAP_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    budget.free = free_b;
    budget.known = true;
  }
  const auto total = core::checked_add(budget.used, bytes);
  if (!total || *total > budget.free)
    return Error(ErrorKind::Resource, fmt::format("{}: read-mostly, needs {} bytes ({} for all read-mostly regions so "
                                                  "far) but GPU {} had {} free",
                                                  what, bytes, total ? *total : UINT64_MAX, device, budget.free));
  budget.used = *total;
  void* p = nullptr;
  SNAP_CUDA_TRY(cudaMallocManaged(&p, bytes, cudaMemAttachGlobal));
  allocations.push_back({device, p});
  return p;
}

Result<CUmodule> CudaResources::load_module(int device, const void* image, bool warm, const std::string& what) {
  CUmodule mod = nullptr;
  const CUresult r = api->cuModuleLoadData(&mod, image);
  if (r != CUDA_SUCCESS)
    return driver_error(*api, r, fmt::format("cuModuleLoadData ({} on GPU {})", what, device).c_str());
  modules.push_back({device, mod});
  if (warm && api->cuModuleGetFunctionCount) {
    unsigned n = 0;
    SNAP_CU_TRY(*api, api->cuModuleGetFunctionCount(&n, mod), "cuModuleGetFunctionCount");
    std::vector<CUfunction> fns(n);
    if (n) SNAP_CU_TRY(*api, api->cuModuleEnumerateFunctions(fns.data(), n, mod), "cuModuleEnumerateFunctions");
    for (auto f : fns) SNAP_CU_TRY(*api, api->cuFuncLoad(f), "cuFuncLoad");
  }
  return mod;
}

Status CudaResources::map_fixed(const VaReservation& r, const std::string& path) {
  const CUmemAllocationProp prop = device_prop(r.device);
  CUdeviceptr got = 0;
  SNAP_CU_TRY(*api, api->cuMemAddressReserve(&got, r.size, 0, static_cast<CUdeviceptr>(r.base), 0),
              "cuMemAddressReserve");
  mappings.push_back({r.device, got, r.size, 0, false});
  if (got != r.base)
    return Error(ErrorKind::Resource,
                 fmt::format("{}: fixed-VA restore needs device addresses 0x{:x}..0x{:x} on GPU {}, but that range is "
                             "taken in this process (the driver offered 0x{:x}); restore without fixed addresses, or "
                             "before other GPU allocations",
                             path, r.base, r.base + r.size, r.device, got));
  auto& mp = mappings.back();
  SNAP_CU_TRY(*api, api->cuMemCreate(&mp.handle, r.size, &prop, 0), "cuMemCreate");
  SNAP_CU_TRY(*api, api->cuMemMap(got, r.size, 0, mp.handle, 0), "cuMemMap");
  mp.mapped = true;
  CUmemAccessDesc access{};
  access.location = prop.location;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  SNAP_CU_TRY(*api, api->cuMemSetAccess(got, r.size, &access, 1), "cuMemSetAccess");
  return {};
}

}  // namespace vramsnap::backend
#endif
