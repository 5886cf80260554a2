#include "backend/device_allocation.h"

#include <fmt/format.h>

#include "core/checked_math.h"

#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "backend/cuda_driver.h"
#endif

namespace vramsnap::backend {

#ifdef VRAMSNAP_HAVE_CUDA

Result<AllocationRange> enclosing_allocation(const void* device_ptr) {
  VRAMSNAP_ASSIGN_OR_RETURN(const DriverApi* api, driver_api());
  if (!api->cuMemGetAddressRange)
    return Error(ErrorKind::Compat, "the CUDA driver does not provide cuMemGetAddressRange (driver too old or absent)");
  CUdeviceptr base = 0;
  size_t size = 0;
  const CUresult r = api->cuMemGetAddressRange(&base, &size, reinterpret_cast<CUdeviceptr>(device_ptr));
  if (r != CUDA_SUCCESS)
    return driver_error(*api, r, fmt::format("cuMemGetAddressRange({})", device_ptr).c_str());
  return AllocationRange{static_cast<uint64_t>(base), static_cast<uint64_t>(size)};
}

void record_allocation(RegionMeta& meta, const void* device_ptr) {
  if (meta.alloc || !meta.va || *meta.va != reinterpret_cast<uint64_t>(device_ptr)) return;
  auto api = driver_api();
  if (!api.ok()) return;
  CurrentContextGuard keep(**api);
  if (cudaSetDevice(meta.device < 0 ? 0 : meta.device) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  auto a = enclosing_allocation(device_ptr);
  if (!a.ok()) return;
  const auto end = core::checked_add(a->base, a->size);
  if (a->size && end && core::range_within(*meta.va, meta.size, a->base, *end)) meta.alloc = *a;
}

#else

Result<AllocationRange> enclosing_allocation(const void*) {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}

void record_allocation(RegionMeta&, const void*) {}

#endif

}  // namespace vramsnap::backend
