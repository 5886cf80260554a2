// CUDA device discovery and device-to-host copies for capture. Built against
// the static CUDA runtime; on a machine without a driver every call fails
// cleanly and we report Compat (exit 6) with what the driver said.
#include <fmt/format.h>

#include "backend/cuda_check.h"
#include "backend/device_source.h"

#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_driver.h"
#endif

namespace vramsnap::backend {

#ifdef VRAMSNAP_HAVE_CUDA

Status require_gpu() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    // What the driver said, with the kind of cuda_errors.h; no file:line,
    // since this is the first question asked of the driver, not a failure inside.
    return cuda_error(e, "cudaGetDeviceCount", nullptr, 0);
  }
  if (count == 0) return Error(ErrorKind::Compat, "no CUDA GPU found on this machine (the driver reports 0 devices)");
  return {};
}

void describe_gpu(SourceInfo& info) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return;
  }
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  info.gpu_name = p.name;
  info.compute_capability = fmt::format("{}.{}", p.major, p.minor);
  int drv = 0, rt = 0;
  if (cudaDriverGetVersion(&drv) == cudaSuccess) info.driver_version = fmt::format("{}.{}", drv / 1000, (drv % 1000) / 10);
  if (cudaRuntimeGetVersion(&rt) == cudaSuccess) info.cuda_runtime = fmt::format("{}.{}", rt / 1000, (rt % 1000) / 10);
}

// On a stream of its own (the caller's legacy default stream would serialise
// with its kernels), with the calling thread's context put back afterwards.
Status copy_device_to_host(int device, const void* src, void* dst, size_t size) {
  VRAMSNAP_ASSIGN_OR_RETURN(const DriverApi* api, driver_api());
  CurrentContextGuard keep(*api);
  SNAP_CUDA_TRY(cudaSetDevice(device < 0 ? 0 : device));
  cudaStream_t stream = nullptr;
  SNAP_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaError_t e = cudaMemcpyAsync(dst, src, size, cudaMemcpyDeviceToHost, stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  cudaStreamDestroy(stream);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return cuda_error(e, "cudaMemcpyAsync(device to host)", __FILE__, __LINE__);
  }
  return {};
}

void* alloc_pinned(int device, size_t size) {
  auto api = driver_api();
  if (!api.ok()) return nullptr;
  CurrentContextGuard keep(**api);
  void* p = nullptr;
  if (cudaSetDevice(device < 0 ? 0 : device) != cudaSuccess ||
      cudaHostAlloc(&p, size, cudaHostAllocPortable) != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return p;
}

void free_pinned(int device, void* p) {
  if (!p) return;
  auto api = driver_api();
  if (!api.ok()) return;
  CurrentContextGuard keep(**api);
  if (cudaSetDevice(device < 0 ? 0 : device) == cudaSuccess) cudaFreeHost(p);
  (void)cudaGetLastError();
}

#else  // built without the CUDA toolkit

Status require_gpu() {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}
void describe_gpu(SourceInfo&) {}
Status copy_device_to_host(int, const void*, void*, size_t) { return require_gpu(); }
void* alloc_pinned(int, size_t) { return nullptr; }
void free_pinned(int, void*) {}

#endif

}  // namespace vramsnap::backend
