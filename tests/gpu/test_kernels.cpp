// GPU tests of the device kernels (ctest label "gpu"): each kernel against
// the CPU implementation on the same inputs. Exit 77 (skipped) when no CUDA
// GPU is usable. Prints "N passed, N failed".
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "backend/kernels/launch.h"
#include "gpu_check.h"
#include "crypto/leaf_hash.h"

namespace k = vramsnap::backend::kernels;

#define CUDA_OK(expr)                                                                              \
  do {                                                                                             \
    cudaError_t e_ = (expr);                                                                       \
    if (e_ != cudaSuccess) {                                                                       \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_)); \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

// Chunks of awkward sizes (1 byte to 4 MiB), a few corrupted, verified on
// the GPU; verdicts must be exactly the CPU's.
static int leaf_verify_matches_cpu(int sm_count) {
  const std::vector<size_t> sizes = {1, 100, 255, 256, 257, 16383, 16384, 16385, 3 * 16384 - 64, 4u << 20,
                                     (4u << 20) - 1, 1u << 20};
  std::mt19937 rng(7);
  std::vector<std::vector<uint8_t>> host(sizes.size());
  std::vector<k::ChunkJob> jobs(sizes.size());
  uint64_t leaves = 0, bytes = 0;
  for (size_t c = 0; c < sizes.size(); ++c) {
    host[c].resize(sizes[c]);
    for (auto& b : host[c]) b = static_cast<uint8_t>(rng());
    auto d = vramsnap::crypto::leaf_sha256(host[c]);
    std::memcpy(jobs[c].expect, d.data(), 32);
    jobs[c].size = sizes[c];
    jobs[c].first_leaf = leaves;
    leaves += k::leaves_of(sizes[c]);
    bytes += (sizes[c] + 4095) / 4096 * 4096;  // chunks at 4 KiB-aligned offsets, as restore stages them
  }
  const std::vector<size_t> corrupt = {2, 9};
  for (size_t c : corrupt) host[c][host[c].size() / 3] ^= 0x10;

  uint8_t* data = nullptr;
  k::ChunkJob* djobs = nullptr;
  uint8_t* digests = nullptr;
  uint32_t* verdicts = nullptr;
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&data), bytes));
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&djobs), jobs.size() * sizeof(k::ChunkJob)));
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&digests), leaves * 32));
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&verdicts), jobs.size() * sizeof(uint32_t)));
  uint64_t off = 0;
  for (size_t c = 0; c < sizes.size(); ++c) {
    CUDA_OK(cudaMemcpy(data + off, host[c].data(), sizes[c], cudaMemcpyHostToDevice));
    jobs[c].data = data + off;
    off += (sizes[c] + 4095) / 4096 * 4096;
  }
  CUDA_OK(cudaMemcpy(djobs, jobs.data(), jobs.size() * sizeof(k::ChunkJob), cudaMemcpyHostToDevice));
  k::Batch b{djobs, static_cast<uint32_t>(jobs.size()), leaves, digests, verdicts};
  CUDA_OK(k::launch_leaf_verify(b, sm_count, nullptr));
  std::vector<uint32_t> got(jobs.size());
  CUDA_OK(cudaMemcpy(got.data(), verdicts, got.size() * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  for (size_t c = 0; c < sizes.size(); ++c) {
    const bool bad = c == corrupt[0] || c == corrupt[1];
    CHECK(got[c] == (bad ? 0u : 1u), "chunk %zu (%zu bytes): verdict %u", c, sizes[c], got[c]);
  }
  cudaFree(data);
  cudaFree(djobs);
  cudaFree(digests);
  cudaFree(verdicts);
  return 0;
}

int main() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("no usable CUDA GPU: skipped\n");
    return 77;
  }
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  if (leaf_verify_matches_cpu(sms) != 0) ++gputest::failed;
  std::printf("%d passed, %d failed\n", gputest::passed, gputest::failed);
  return gputest::failed ? 1 : 0;
}
