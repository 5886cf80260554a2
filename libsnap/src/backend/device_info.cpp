#include "backend/device_info.h"

#include <fmt/format.h>

#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_check.h"
#include "backend/cuda_driver.h"
#endif

namespace vramsnap::backend {

#ifdef VRAMSNAP_HAVE_CUDA

Result<int> cuda_device_count() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaErrorNoDevice) {
    (void)cudaGetLastError();
    return 0;
  }
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return cuda_error(e, "cudaGetDeviceCount", nullptr, 0);
  }
  return n;
}

Result<TargetDevice> describe_device(int ordinal) {
  // Properties are read without making the device current: the caller's
  // current device and context stay as they are.
  cudaDeviceProp p{};
  SNAP_CUDA_TRY(cudaGetDeviceProperties(&p, ordinal));
  TargetDevice t;
  t.ordinal = ordinal;
  t.name = p.name;
  t.compute_capability = {p.major, p.minor};
  int drv = 0;
  SNAP_CUDA_TRY(cudaDriverGetVersion(&drv));
  t.driver = {drv / 1000, (drv % 1000) / 10};
  VRAMSNAP_ASSIGN_OR_RETURN(const DriverApi* api, driver_api());
  if (api->cuDeviceGet && api->cuDeviceGetAttribute) {
    CUdevice dev = 0;
    int vmm = 0;
    SNAP_CU_TRY(*api, api->cuDeviceGet(&dev, ordinal), "cuDeviceGet");
    SNAP_CU_TRY(*api, api->cuDeviceGetAttribute(&vmm, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, dev),
                "cuDeviceGetAttribute(VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED)");
    t.vmm = vmm != 0;
  }
  return t;
}

#else

Result<int> cuda_device_count() {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}

Result<TargetDevice> describe_device(int) {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}

#endif

Result<std::vector<TargetDevice>> describe_devices(const std::vector<int>& ordinals) {
  std::vector<TargetDevice> out;
  out.reserve(ordinals.size());
  for (int o : ordinals) {
    auto d = describe_device(o);
    if (!d.ok()) return std::move(d).error().with_context(fmt::format("GPU {}: ", o));
    out.push_back(std::move(d).value());
  }
  return out;
}

}  // namespace vramsnap::backend
