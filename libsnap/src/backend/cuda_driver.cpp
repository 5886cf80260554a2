#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_driver.h"

#include <cuda_runtime_api.h>

#include <mutex>

#include <fmt/format.h>

#include "backend/cuda_check.h"
#include "backend/cuda_errors.h"

namespace vramsnap::backend {
namespace {

template <class F>
bool resolve(const char* name, F& fn, unsigned version) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult q{};
  if (cudaGetDriverEntryPointByVersion(name, &p, version, cudaEnableDefault, &q) != cudaSuccess ||
      q != cudaDriverEntryPointSuccess || !p) {
    (void)cudaGetLastError();
    return false;
  }
  fn = reinterpret_cast<F>(p);
  return true;
}

}  // namespace

Result<const DriverApi*> driver_api() {
  static DriverApi api;
  static std::once_flag once;
  static std::string missing;
  std::call_once(once, [] {
    auto need = [](const char* n, auto& f, unsigned v) {
      if (!resolve(n, f, v) && missing.empty()) missing = n;
    };
    need("cuMemAddressReserve", api.cuMemAddressReserve, 10020);
    need("cuMemAddressFree", api.cuMemAddressFree, 10020);
    need("cuMemCreate", api.cuMemCreate, 10020);
    need("cuMemRelease", api.cuMemRelease, 10020);
    need("cuMemMap", api.cuMemMap, 10020);
    need("cuMemUnmap", api.cuMemUnmap, 10020);
    need("cuMemSetAccess", api.cuMemSetAccess, 10020);
    need("cuMemGetAllocationGranularity", api.cuMemGetAllocationGranularity, 10020);
    need("cuModuleLoadData", api.cuModuleLoadData, 2000);
    need("cuModuleUnload", api.cuModuleUnload, 2000);
    need("cuGetErrorString", api.cuGetErrorString, 6000);
    need("cuCtxGetCurrent", api.cuCtxGetCurrent, 4000);
    need("cuCtxSetCurrent", api.cuCtxSetCurrent, 4000);
    resolve("cuModuleGetFunctionCount", api.cuModuleGetFunctionCount, 12040);
    resolve("cuModuleEnumerateFunctions", api.cuModuleEnumerateFunctions, 12040);
    resolve("cuFuncLoad", api.cuFuncLoad, 12040);
    resolve("cuGetErrorName", api.cuGetErrorName, 6000);
    resolve("cuMemGetAddressRange", api.cuMemGetAddressRange, 3020);
    resolve("cuDeviceGet", api.cuDeviceGet, 2000);
    resolve("cuDeviceGetAttribute", api.cuDeviceGetAttribute, 2000);
  });
  if (!missing.empty())
    return Error(ErrorKind::Compat, fmt::format("the CUDA driver does not provide {} (driver too old or absent)", missing));
  return &api;
}

Error driver_error(const DriverApi& api, CUresult r, const char* call) {
  const char* text = nullptr;
  const char* name = nullptr;
  if (api.cuGetErrorString) api.cuGetErrorString(r, &text);
  if (api.cuGetErrorName) api.cuGetErrorName(r, &name);
  CudaFailure f;
  f.api = CudaApi::Driver;
  f.code = static_cast<int>(r);
  f.name = name ? name : "";
  f.text = text ? text : "";
  f.call = call;
  return cuda_failure(f);
}

}  // namespace vramsnap::backend
#endif
