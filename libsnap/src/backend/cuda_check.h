#pragma once
// One macro for every CUDA runtime call: an error becomes a library Error
// naming the call, the file and the line. No-driver / no-device errors map to
// Compat (exit 6), allocation failures to Resource (exit 5).
#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda_runtime_api.h>

#include <fmt/format.h>

#include "vramsnap/error.hpp"

namespace vramsnap::backend {

inline ErrorKind cuda_error_kind(cudaError_t e) {
  switch (e) {
    case cudaErrorInsufficientDriver:
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable:
    case cudaErrorStubLibrary:
    case cudaErrorCallRequiresNewerDriver:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorNoKernelImageForDevice:
      return ErrorKind::Compat;
    case cudaErrorMemoryAllocation:
      return ErrorKind::Resource;
    default:
      return ErrorKind::IO;
  }
}

inline Error cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  return Error(cuda_error_kind(e), fmt::format("CUDA {} failed: {} ({}, error {}) at {}:{}", call,
                                               cudaGetErrorString(e), cudaGetErrorName(e), static_cast<int>(e),
                                               file, line));
}

}  // namespace vramsnap::backend

#define SNAP_CUDA_TRY(expr)                                                                   \
  do {                                                                                        \
    cudaError_t snap_cuda_e_ = (expr);                                                        \
    if (snap_cuda_e_ != cudaSuccess) {                                                        \
      (void)cudaGetLastError();                                                               \
      return ::vramsnap::backend::cuda_error(snap_cuda_e_, #expr, __FILE__, __LINE__);        \
    }                                                                                         \
  } while (0)
#endif
