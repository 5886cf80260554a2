#include "backend/cuda_errors.h"

#include <fmt/format.h>

#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda.h>
#include <driver_types.h>
#endif

namespace vramsnap::backend {

#ifdef VRAMSNAP_HAVE_CUDA
static_assert(cuda_code::kMemoryAllocation == cudaErrorMemoryAllocation && CUDA_ERROR_OUT_OF_MEMORY == 2);
static_assert(cuda_code::kInitializationError == cudaErrorInitializationError && CUDA_ERROR_NOT_INITIALIZED == 3);
static_assert(cuda_code::kStubLibrary == cudaErrorStubLibrary && CUDA_ERROR_STUB_LIBRARY == 34);
static_assert(cuda_code::kInsufficientDriver == cudaErrorInsufficientDriver);
static_assert(cuda_code::kCallRequiresNewerDriver == cudaErrorCallRequiresNewerDriver);
static_assert(cuda_code::kDevicesUnavailable == cudaErrorDevicesUnavailable && CUDA_ERROR_DEVICE_UNAVAILABLE == 46);
static_assert(cuda_code::kNoDevice == cudaErrorNoDevice && CUDA_ERROR_NO_DEVICE == 100);
static_assert(cuda_code::kInvalidDevice == cudaErrorInvalidDevice && CUDA_ERROR_INVALID_DEVICE == 101);
static_assert(cuda_code::kNoKernelImageForDevice == cudaErrorNoKernelImageForDevice && CUDA_ERROR_NO_BINARY_FOR_GPU == 209);
static_assert(cuda_code::kInvalidPtx == cudaErrorInvalidPtx && CUDA_ERROR_INVALID_PTX == 218);
static_assert(cuda_code::kJitCompilerNotFound == cudaErrorJitCompilerNotFound && CUDA_ERROR_JIT_COMPILER_NOT_FOUND == 221);
static_assert(cuda_code::kUnsupportedPtxVersion == cudaErrorUnsupportedPtxVersion && CUDA_ERROR_UNSUPPORTED_PTX_VERSION == 222);
static_assert(cuda_code::kNotSupported == cudaErrorNotSupported && CUDA_ERROR_NOT_SUPPORTED == 801);
static_assert(cuda_code::kSystemNotReady == cudaErrorSystemNotReady && CUDA_ERROR_SYSTEM_NOT_READY == 802);
static_assert(cuda_code::kSystemDriverMismatch == cudaErrorSystemDriverMismatch && CUDA_ERROR_SYSTEM_DRIVER_MISMATCH == 803);
static_assert(cuda_code::kCompatNotSupportedOnDevice == cudaErrorCompatNotSupportedOnDevice &&
              CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE == 804);
#endif

bool cuda_unavailable(CudaApi api, int code) {
  using namespace cuda_code;
  switch (code) {
    case kInsufficientDriver:
      return api == CudaApi::Runtime;  // 35 is not a driver-API code
    case kStubLibrary:
    case kNoDevice:
    case kSystemNotReady:
    case kSystemDriverMismatch:
    case kCompatNotSupportedOnDevice:
      return true;
    case kInitializationError:
      return api == CudaApi::Driver;  // cuInit failed: no usable driver
    default:
      return false;
  }
}

ErrorKind cuda_error_kind(CudaApi api, int code) {
  using namespace cuda_code;
  if (cuda_unavailable(api, code)) return ErrorKind::Compat;
  switch (code) {
    case kMemoryAllocation:
      return ErrorKind::Resource;
    case kCallRequiresNewerDriver:
    case kDevicesUnavailable:
    case kInvalidDevice:
    case kNoKernelImageForDevice:
    case kInvalidPtx:
    case kJitCompilerNotFound:
    case kUnsupportedPtxVersion:
    case kNotSupported:
      return ErrorKind::Compat;
    default:
      return ErrorKind::IO;
  }
}

Error cuda_failure(const CudaFailure& f) {
  using namespace cuda_code;
  const char* code_word = f.api == CudaApi::Runtime ? "error" : "CUresult";
  std::string said = f.text.empty() ? std::string("unknown error") : std::string(f.text);
  std::string ident = f.name.empty() ? fmt::format("{} {}", code_word, f.code)
                                     : fmt::format("{}, {} {}", f.name, code_word, f.code);
  std::string at = f.where.empty() ? std::string() : fmt::format(" at {}", f.where);
  const ErrorKind kind = cuda_error_kind(f.api, f.code);
  std::string lead;
  if (f.api == CudaApi::Runtime && f.code == kInsufficientDriver) {
    lead = f.runtime_version > 0
               ? fmt::format("no usable CUDA driver: this machine has no NVIDIA GPU driver, or one older than CUDA "
                             "runtime {}.{} needs; ",
                             f.runtime_version / 1000, (f.runtime_version % 1000) / 10)
               : "no usable CUDA driver: this machine has no NVIDIA GPU driver, or one too old; ";
  } else if (f.code == kNoDevice) {
    lead = "no CUDA GPU found on this machine; ";
  } else if (f.code == kStubLibrary) {
    lead = "no usable CUDA driver (only the stub library was found); ";
  } else if (cuda_unavailable(f.api, f.code)) {
    lead = "no usable CUDA GPU; ";
  }
  return Error(kind, fmt::format("{}CUDA {} failed: {} ({}){}", lead, f.call, said, ident, at));
}

}  // namespace vramsnap::backend
