#pragma once
// The device memory of one cuda restore, on every target GPU: per-GPU arenas,
// managed (read-mostly) allocations, fixed-VA mappings (reserve, create, map,
// set access) and loaded modules. Owned by the Restored object until
// release(); destruction frees each item with its GPU selected and puts the
// calling thread's context back.
#ifdef VRAMSNAP_HAVE_CUDA
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backend/cuda_driver.h"
#include "backend/device_layout.h"
#include "pipeline/sink.h"

namespace vramsnap::backend {

struct CudaResources final : DeviceResources {
  const DriverApi* api = nullptr;
  struct Plain { int device; void* ptr; };  // cudaMalloc / cudaMallocManaged
  struct Mapping {
    int device;
    CUdeviceptr va;
    size_t size;
    CUmemGenericAllocationHandle handle;
    bool mapped;
  };
  struct Module { int device; CUmodule module; };
  std::vector<Plain> allocations;
  std::vector<Mapping> mappings;
  std::vector<Module> modules;
  bool owned = true;
  struct ManagedBudget { uint64_t free = 0, used = 0; bool known = false; };
  std::map<int, ManagedBudget> managed;

  void disown() override { owned = false; }
  ~CudaResources() override;

  // cudaMalloc on `device` (current); Resource error naming the free memory.
  Result<void*> alloc_arena(int device, uint64_t bytes, const std::string& path);
  // cudaMallocManaged for a read-mostly region, on `device` (current). Never
  // more than the GPU has free (oversubscribed managed memory can stall it):
  // the free figure is taken once per GPU, before its first managed
  // allocation, and every read-mostly region counts against it.
  Result<void*> alloc_managed(int device, uint64_t bytes, const std::string& what);
  // cuModuleLoadData of a verified image on `device` (current), every
  // function loaded eagerly when `warm`.
  Result<CUmodule> load_module(int device, const void* image, bool warm, const std::string& what);
  // Reserves [base, base+size) exactly, backs it with memory of `device` and
  // grants that device read-write access. Resource error when the range is
  // taken in this process.
  Status map_fixed(const VaReservation& r, const std::string& path);
};

// The VMM allocation granularity of `device` (minimum, pinned device memory).
Result<uint64_t> vmm_granularity(const DriverApi& api, int device);

}  // namespace vramsnap::backend
#endif
