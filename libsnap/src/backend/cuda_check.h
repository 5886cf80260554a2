#pragma once
// One macro for every CUDA runtime call: an error becomes a library Error
// naming the call, the file and the line, with the kind and wording of
// cuda_errors.h (no driver / no device -> Compat, exit 6; out of memory ->
// Resource, exit 5).
#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda_runtime_api.h>

#include <fmt/format.h>

#include "backend/cuda_errors.h"
#include "vramsnap/error.hpp"

namespace vramsnap::backend {

inline ErrorKind cuda_error_kind(cudaError_t e) { return cuda_error_kind(CudaApi::Runtime, static_cast<int>(e)); }

inline Error cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  CudaFailure f;
  f.api = CudaApi::Runtime;
  f.code = static_cast<int>(e);
  f.name = cudaGetErrorName(e);
  f.text = cudaGetErrorString(e);
  f.call = call;
  const std::string where = file ? fmt::format("{}:{}", file, line) : std::string();
  f.where = where;
  f.runtime_version = CUDART_VERSION;
  return cuda_failure(f);
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
