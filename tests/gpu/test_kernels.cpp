// GPU tests of the device kernels (ctest label "gpu"): each kernel against
// the CPU implementation on the same inputs. Exit 77 (skipped) when no CUDA
// GPU is usable. Prints "N passed, N failed".
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "backend/kernels/launch.h"
#include "codec/codec.h"
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

// planes chunks of every element size and awkward lengths (one spanning
// several slices), two of them damaged, decoded in one launch: the bytes of
// every good chunk must be the CPU decoder's, and exactly the damaged ones
// must report a fault; nothing is written outside a chunk's destination.
// Then the same launch gated by verdicts: a chunk whose verdict is not a
// match is left untouched and reports nothing.
static int planes_decode_matches_cpu(int sm_count) {
  namespace pl = vramsnap::codec::planes;
  // pal: values rounded to about 160 levels and stored with the palette codec;
  // f16: f16 values (a tenth of them zeros), stored in the split layout (6.4.1).
  struct Case { size_t elems; unsigned e; size_t tail; bool damage; bool pal; bool f16 = false; };
  const std::vector<Case> cases = {{pl::kSliceElements * 2 + 4097, 2, 0, false, false}, {100000, 4, 3, false, false},
                                   {30001, 8, 5, false, false}, {4096, 2, 1, false, false}, {70000, 2, 0, true, false},
                                   {50000, 4, 0, true, false}, {1u << 21, 2, 0, false, false},
                                   {pl::kSliceElements * 2 + 4097, 2, 1, false, true}, {100000, 4, 3, false, true},
                                   {30001, 8, 0, false, true}, {70000, 2, 0, true, true},
                                   {pl::kSliceElements + 5000, 2, 1, false, false, true},
                                   {40000, 2, 0, true, false, true}};
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  vramsnap::codec::ChunkEncoder enc(3);
  vramsnap::codec::ChunkDecoder dec;
  constexpr size_t kGuard = 256;
  std::vector<std::vector<uint8_t>> raw(cases.size()), stored(cases.size()), want(cases.size());
  std::vector<bool> cpu_ok(cases.size());
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    raw[c].resize(k.elems * k.e + k.tail);
    for (size_t i = 0; i < k.elems; ++i) {
      const float f = k.pal ? std::round(dist(rng) * 1000.0f) / 1000.0f : dist(rng);
      uint64_t bits = 0;
      std::memcpy(&bits, &f, 4);
      if (k.e == 2 && k.f16) {  // round-to-zero f16; every tenth value zero
        const int exp = int((bits >> 23) & 255) - 127 + 15;
        uint64_t h = (bits >> 16) & 0x8000;
        if (exp > 0 && i % 10) h |= uint64_t(exp) << 10 | ((bits >> 13) & 0x3ff);
        bits = h;
      } else if (k.e == 2) {
        bits >>= 16;
      }
      if (k.e == 8) bits <<= 29;
      for (unsigned b = 0; b < k.e; ++b) raw[c][i * k.e + b] = static_cast<uint8_t>(bits >> (8 * b));
    }
    for (size_t i = 0; i < k.tail; ++i) raw[c][k.elems * k.e + i] = static_cast<uint8_t>(rng());
    const auto codec = k.pal ? vramsnap::Codec::Palette : vramsnap::Codec::Planes;
    auto r = enc.encode(raw[c], k.pal ? vramsnap::CodecChoice::Palette : vramsnap::CodecChoice::Planes, k.e);
    if (!r.ok() || r->codec != codec) {
      CHECK(false, "case %zu did not encode as %s", c, vramsnap::to_string(codec));
      return 1;
    }
    stored[c].assign(r->stored.begin(), r->stored.end());
    if (k.f16 && !pl::is_split(stored[c].data(), stored[c].size())) {
      CHECK(false, "case %zu did not encode in the f16 split layout", c);
      return 1;
    }
    if (k.damage) stored[c][stored[c].size() - 2] ^= 0x21;  // the last Huffman block or the raw plane
    want[c].assign(raw[c].size(), 0);
    cpu_ok[c] = dec.decode(codec, static_cast<uint8_t>(k.e), stored[c], want[c]).ok();
  }
  std::vector<uint8_t*> din(cases.size()), dout(cases.size());
  std::vector<pl::PlanesJob> jobs(cases.size());
  for (size_t c = 0; c < cases.size(); ++c) {
    CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&din[c]), stored[c].size()));
    CUDA_OK(cudaMemcpy(din[c], stored[c].data(), stored[c].size(), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&dout[c]), raw[c].size() + 2 * kGuard));
    CUDA_OK(cudaMemset(dout[c], 0xA5, raw[c].size() + 2 * kGuard));
    jobs[c] = {din[c], stored[c].size(), dout[c] + kGuard, raw[c].size(), cases[c].e, 0, cases[c].pal ? 1u : 0u};
  }
  const uint32_t slices = pl::assign_slices(jobs.data(), static_cast<uint32_t>(jobs.size()));
  pl::PlanesJob* djobs = nullptr;
  uint32_t* dstatus = nullptr;
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&djobs), jobs.size() * sizeof(pl::PlanesJob)));
  CUDA_OK(cudaMemcpy(djobs, jobs.data(), jobs.size() * sizeof(pl::PlanesJob), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&dstatus), jobs.size() * sizeof(uint32_t)));
  // Pass 0 decodes every chunk; pass 1 is gated as after a verify kernel,
  // odd chunks with a mismatch verdict: those are neither read nor written.
  std::vector<uint32_t> gate(jobs.size());
  for (size_t c = 0; c < gate.size(); ++c) gate[c] = c % 2 ? 0 : 1;
  uint32_t* dgate = nullptr;
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&dgate), gate.size() * sizeof(uint32_t)));
  CUDA_OK(cudaMemcpy(dgate, gate.data(), gate.size() * sizeof(uint32_t), cudaMemcpyHostToDevice));
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t c = 0; c < cases.size(); ++c) CUDA_OK(cudaMemset(dout[c], 0xA5, raw[c].size() + 2 * kGuard));
    CUDA_OK(cudaMemset(dstatus, 0, jobs.size() * sizeof(uint32_t)));
    const pl::PlanesBatch batch{djobs, static_cast<uint32_t>(jobs.size()), slices, dstatus, pass ? dgate : nullptr};
    CUDA_OK(k::launch_planes_decode(batch, sm_count, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
    std::vector<uint32_t> status(jobs.size());
    CUDA_OK(cudaMemcpy(status.data(), dstatus, status.size() * sizeof(uint32_t), cudaMemcpyDeviceToHost));
    for (size_t c = 0; c < cases.size(); ++c) {
      std::vector<uint8_t> got(raw[c].size() + 2 * kGuard);
      CUDA_OK(cudaMemcpy(got.data(), dout[c], got.size(), cudaMemcpyDeviceToHost));
      if (pass == 1 && gate[c] != 1) {
        CHECK(status[c] == 0, "chunk %zu: gated out, yet status %u", c, status[c]);
        CHECK(std::all_of(got.begin(), got.end(), [](uint8_t v) { return v == 0xA5; }), "chunk %zu: gated out, yet written", c);
        continue;
      }
      bool guards = true;
      for (size_t i = 0; i < kGuard; ++i) guards = guards && got[i] == 0xA5 && got[got.size() - 1 - i] == 0xA5;
      CHECK(guards, "chunk %zu: written outside its destination", c);
      CHECK((status[c] == 0) == cpu_ok[c], "chunk %zu: GPU status %u, CPU %s", c, status[c], cpu_ok[c] ? "ok" : "refused");
      if (cpu_ok[c] && status[c] == 0)
        CHECK(std::memcmp(got.data() + kGuard, want[c].data(), want[c].size()) == 0, "chunk %zu: bytes differ from the CPU's", c);
      if (!cases[c].damage) CHECK(status[c] == 0 && cpu_ok[c], "chunk %zu: an intact chunk was refused", c);
    }
  }
  for (size_t c = 0; c < cases.size(); ++c) {
    cudaFree(din[c]);
    cudaFree(dout[c]);
  }
  cudaFree(djobs);
  cudaFree(dstatus);
  cudaFree(dgate);
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
  if (planes_decode_matches_cpu(sms) != 0) ++gputest::failed;
  std::printf("%d passed, %d failed\n", gputest::passed, gputest::failed);
  return gputest::failed ? 1 : 0;
}
