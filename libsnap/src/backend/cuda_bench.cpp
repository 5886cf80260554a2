// Pinned host-to-device bandwidth for bench (see cuda_bench.h).
#include "backend/cuda_bench.h"

#include <cstring>

#include <fmt/format.h>

#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_check.h"
#include "backend/device_source.h"
#endif

namespace vramsnap::backend {

#ifndef VRAMSNAP_HAVE_CUDA

Result<CopyBandwidth> measure_pinned_h2d(int, uint64_t, unsigned) {
  return Error(ErrorKind::Compat, "this vramsnap was built without CUDA support (no CUDA toolkit at build time)");
}

#else

namespace {

// Frees whatever the measurement allocated, on every path out.
struct CopyRig {
  void* host = nullptr;
  void* dev = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  ~CopyRig() {
    if (stream) cudaStreamSynchronize(stream);
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (stream) cudaStreamDestroy(stream);
    if (dev) cudaFree(dev);
    if (host) cudaFreeHost(host);
  }
};

}  // namespace

Result<CopyBandwidth> measure_pinned_h2d(int device, uint64_t bytes, unsigned iterations) {
  VRAMSNAP_TRY(require_gpu());
  int count = 0;
  SNAP_CUDA_TRY(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count)
    return Error(ErrorKind::Compat, fmt::format("CUDA device {} does not exist (this machine has {})", device, count));
  if (bytes == 0) return Error(ErrorKind::Usage, "pinned copy bandwidth: zero bytes");
  SNAP_CUDA_TRY(cudaSetDevice(device));
  cudaDeviceProp prop{};
  SNAP_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
  CopyBandwidth out;
  out.gpu_name = prop.name;
  out.bytes = bytes;

  CopyRig rig;
  const size_t n = static_cast<size_t>(bytes);
  SNAP_CUDA_TRY(cudaHostAlloc(&rig.host, n, cudaHostAllocDefault));
  std::memset(rig.host, 0x5a, n);  // fault the pages in before timing
  SNAP_CUDA_TRY(cudaMalloc(&rig.dev, n));
  SNAP_CUDA_TRY(cudaStreamCreateWithFlags(&rig.stream, cudaStreamNonBlocking));
  SNAP_CUDA_TRY(cudaEventCreate(&rig.start));
  SNAP_CUDA_TRY(cudaEventCreate(&rig.stop));
  SNAP_CUDA_TRY(cudaMemcpyAsync(rig.dev, rig.host, n, cudaMemcpyHostToDevice, rig.stream));
  SNAP_CUDA_TRY(cudaStreamSynchronize(rig.stream));
  for (unsigned k = 0; k < iterations; ++k) {
    SNAP_CUDA_TRY(cudaEventRecord(rig.start, rig.stream));
    SNAP_CUDA_TRY(cudaMemcpyAsync(rig.dev, rig.host, n, cudaMemcpyHostToDevice, rig.stream));
    SNAP_CUDA_TRY(cudaEventRecord(rig.stop, rig.stream));
    SNAP_CUDA_TRY(cudaEventSynchronize(rig.stop));
    float ms = 0;
    SNAP_CUDA_TRY(cudaEventElapsedTime(&ms, rig.start, rig.stop));
    out.seconds.push_back(static_cast<double>(ms) * 1e-3);
  }
  return out;
}

#endif

}  // namespace vramsnap::backend
