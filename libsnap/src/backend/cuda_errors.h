#pragma once
// What a CUDA error means to the caller: its ErrorKind (exit code) and a
// message that says what the driver said. Pure functions on the numeric
// codes, so the mapping is tested without a driver; cuda_check.h and
// cuda_driver.cpp feed them the runtime's and the driver's own names.
#include <string>
#include <string_view>

#include "vramsnap/error.hpp"

namespace vramsnap::backend {

enum class CudaApi { Runtime, Driver };  // cudaError_t or CUresult

// Numeric codes used by the mapping (identical in both APIs; checked against
// the toolkit's enums where it is present).
namespace cuda_code {
inline constexpr int kMemoryAllocation = 2;
inline constexpr int kInitializationError = 3;
inline constexpr int kStubLibrary = 34;
inline constexpr int kInsufficientDriver = 35;  // runtime only
inline constexpr int kCallRequiresNewerDriver = 36;
inline constexpr int kDevicesUnavailable = 46;
inline constexpr int kNoDevice = 100;
inline constexpr int kInvalidDevice = 101;
inline constexpr int kNoKernelImageForDevice = 209;
inline constexpr int kInvalidPtx = 218;
inline constexpr int kJitCompilerNotFound = 221;
inline constexpr int kUnsupportedPtxVersion = 222;
inline constexpr int kNotSupported = 801;
inline constexpr int kSystemNotReady = 802;
inline constexpr int kSystemDriverMismatch = 803;
inline constexpr int kCompatNotSupportedOnDevice = 804;
}  // namespace cuda_code

// Compat for "no usable driver or device" and "this device cannot run it"
// (exit 6); Resource for out of memory (exit 5); IO for the rest.
ErrorKind cuda_error_kind(CudaApi api, int code);

// True when the code means that no CUDA GPU can be used at all on this
// machine (no driver, stub library, too old a driver, no device).
bool cuda_unavailable(CudaApi api, int code);

struct CudaFailure {
  CudaApi api = CudaApi::Runtime;
  int code = 0;
  std::string_view name;  // "cudaErrorInsufficientDriver", "CUDA_ERROR_OUT_OF_MEMORY"; may be empty
  std::string_view text;  // the API's description; may be empty
  std::string_view call;  // "cudaMalloc(&p, n)"
  std::string_view where; // "file.cpp:12"; may be empty
  int runtime_version = 0;  // CUDART_VERSION of this build, for the driver-too-old message
};

// "CUDA cudaMalloc(&p, n) failed: out of memory (cudaErrorMemoryAllocation,
// error 2) at f.cpp:12"; for "no usable GPU" codes the message says so first
// and names what the driver reported.
Error cuda_failure(const CudaFailure& f);

}  // namespace vramsnap::backend
