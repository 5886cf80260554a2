#pragma once
// Driver-API entry points reached through cudaGetDriverEntryPointByVersion, so
// the binary never links libcuda and still starts on machines without a
// driver. Only the functions vramsnap uses are resolved.
#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda.h>

#include "vramsnap/error.hpp"

namespace vramsnap::backend {

struct DriverApi {
  CUresult (*cuMemAddressReserve)(CUdeviceptr*, size_t, size_t, CUdeviceptr, unsigned long long) = nullptr;
  CUresult (*cuMemAddressFree)(CUdeviceptr, size_t) = nullptr;
  CUresult (*cuMemCreate)(CUmemGenericAllocationHandle*, size_t, const CUmemAllocationProp*, unsigned long long) = nullptr;
  CUresult (*cuMemRelease)(CUmemGenericAllocationHandle) = nullptr;
  CUresult (*cuMemMap)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long) = nullptr;
  CUresult (*cuMemUnmap)(CUdeviceptr, size_t) = nullptr;
  CUresult (*cuMemSetAccess)(CUdeviceptr, size_t, const CUmemAccessDesc*, size_t) = nullptr;
  CUresult (*cuMemGetAllocationGranularity)(size_t*, const CUmemAllocationProp*, CUmemAllocationGranularity_flags) = nullptr;
  CUresult (*cuModuleLoadData)(CUmodule*, const void*) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunctionCount)(unsigned int*, CUmodule) = nullptr;      // 12.4+, optional
  CUresult (*cuModuleEnumerateFunctions)(CUfunction*, unsigned int, CUmodule) = nullptr;  // 12.4+, optional
  CUresult (*cuFuncLoad)(CUfunction) = nullptr;                                 // 12.4+, optional
  CUresult (*cuGetErrorString)(CUresult, const char**) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char**) = nullptr;                 // optional
  CUresult (*cuMemGetAddressRange)(CUdeviceptr*, size_t*, CUdeviceptr) = nullptr;  // optional (_v2)
  CUresult (*cuDeviceGet)(CUdevice*, int) = nullptr;                            // optional
  CUresult (*cuDeviceGetAttribute)(int*, CUdevice_attribute, CUdevice) = nullptr;  // optional
  CUresult (*cuCtxGetCurrent)(CUcontext*) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
};

// Restores the calling thread's current context on scope exit: cudaSetDevice
// inside the library must not leave the caller on another GPU's context.
class CurrentContextGuard {
 public:
  explicit CurrentContextGuard(const DriverApi& api) : api_(api) {
    if (api_.cuCtxGetCurrent(&saved_) != CUDA_SUCCESS) saved_ = nullptr;
  }
  ~CurrentContextGuard() { (void)api_.cuCtxSetCurrent(saved_); }
  CurrentContextGuard(const CurrentContextGuard&) = delete;
  CurrentContextGuard& operator=(const CurrentContextGuard&) = delete;

 private:
  const DriverApi& api_;
  CUcontext saved_ = nullptr;
};

// Resolves the table once per process; Compat error when the driver lacks a
// required entry point.
Result<const DriverApi*> driver_api();

// "CUDA cuMemMap failed: out of memory (CUDA_ERROR_OUT_OF_MEMORY, CUresult 2)";
// kind and wording from cuda_errors.h (Resource for OOM, Compat for
// driver/device problems, IO otherwise).
Error driver_error(const DriverApi& api, CUresult r, const char* call);

}  // namespace vramsnap::backend

#define SNAP_CU_TRY(api, expr, name)                                        \
  do {                                                                      \
    CUresult snap_cu_r_ = (expr);                                           \
    if (snap_cu_r_ != CUDA_SUCCESS) return ::vramsnap::backend::driver_error(api, snap_cu_r_, name); \
  } while (0)
#endif
