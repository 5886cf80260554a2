#pragma once
// Device-side chunk verification for leaf-hashed chunks (crypto/leaf_hash.h):
// a batch of chunks in device memory, one warp lane per 16 KiB leaf, then one
// thread per chunk for the root and the comparison with the table's hash.
//
// Loads are coalesced: a warp stages the next kStageBytes of each of its 32
// leaves through shared memory, the lanes reading consecutive 16-byte words
// so each load instruction covers two leaves' contiguous 256-byte runs; then
// every lane compresses its own leaf's staged blocks. Both phases are
// __host__ __device__ functions of (lane, shared buffer), so the host tests
// run the very same indexing by looping over lanes and warps.
#include <cstddef>
#include <cstdint>

#include "crypto/sha256_core.h"

namespace vramsnap::backend::kernels {

namespace core = crypto::sha256core;

inline constexpr uint32_t kLeafBytes = 16384;
inline constexpr uint32_t kWarp = 32;
inline constexpr uint32_t kStageBytes = 256;  // per leaf per round: 4 SHA-256 blocks
inline constexpr uint32_t kWordsPerLeaf = kStageBytes / 16;

// One chunk of a batch: its stored bytes, their size, its first leaf's index
// in the batch's leaf numbering, and the hash the table expects.
struct ChunkJob {
  const uint8_t* data;
  uint64_t size;
  uint64_t first_leaf;
  uint8_t expect[32];
};

struct Batch {
  const ChunkJob* jobs;
  uint32_t chunks;
  uint64_t leaves;        // total leaves = sum of ceil(size / 16 KiB)
  uint8_t* leaf_digests;  // leaves x 32 bytes
  uint32_t* verdicts;     // per chunk: 1 match, 0 mismatch
};

VRAMSNAP_HD uint64_t leaves_of(uint64_t size) { return (size + kLeafBytes - 1) / kLeafBytes; }

// The chunk owning global leaf `leaf` (binary search over first_leaf).
VRAMSNAP_HD uint32_t chunk_of_leaf(const Batch& b, uint64_t leaf) {
  uint32_t lo = 0, hi = b.chunks;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (b.jobs[mid].first_leaf <= leaf) lo = mid; else hi = mid;
  }
  return lo;
}

// A lane's leaf: its bytes and length (0 when the lane has no leaf).
struct LeafRef {
  const uint8_t* p = nullptr;
  uint32_t len = 0;
};

VRAMSNAP_HD LeafRef leaf_ref(const Batch& b, uint64_t leaf) {
  LeafRef r;
  if (leaf >= b.leaves) return r;
  const ChunkJob& j = b.jobs[chunk_of_leaf(b, leaf)];
  const uint64_t off = (leaf - j.first_leaf) * kLeafBytes;
  r.p = j.data + off;
  r.len = static_cast<uint32_t>(j.size - off < kLeafBytes ? j.size - off : kLeafBytes);
  return r;
}

// Phase 1 of a round, for one lane: load its share of the warp's staging
// buffer (32 leaves x kStageBytes). Word q of the round belongs to leaf
// q / kWordsPerLeaf of the warp; lane t loads words t, t + 32, ...
VRAMSNAP_HD void stage_round(const LeafRef* leaves, uint32_t round, uint32_t lane, uint8_t* stage) {
  for (uint32_t q = lane; q < kWarp * kWordsPerLeaf; q += kWarp) {
    const uint32_t leaf = q / kWordsPerLeaf, word = q % kWordsPerLeaf;
    const LeafRef& l = leaves[leaf];
    const uint32_t at = round * kStageBytes + word * 16;
    uint8_t* dst = stage + leaf * kStageBytes + word * 16;
    if (at + 16 <= l.len) {
#if defined(__CUDA_ARCH__)
      *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(l.p + at);  // leaves are 16-byte aligned
#else
      for (int i = 0; i < 16; ++i) dst[i] = l.p[at + i];
#endif
    } else {
      for (uint32_t i = 0; i < 16; ++i) dst[i] = at + i < l.len ? l.p[at + i] : 0;
    }
  }
}

// Phase 2 of a round, for one lane: compress the whole blocks of its leaf
// that this round staged; in the round holding the leaf's end, pad, finish
// and write the digest. Returns true when the leaf is done.
VRAMSNAP_HD bool compress_round(const LeafRef& l, uint32_t round, const uint8_t* my_stage, core::State& st,
                                uint8_t* digest_out) {
  const uint32_t start = round * kStageBytes;
  if (l.len == 0 || start >= l.len) return true;
  const uint32_t in_round = l.len - start < kStageBytes ? l.len - start : kStageBytes;
  const uint32_t whole = in_round / 64;
  for (uint32_t b = 0; b < whole; ++b) core::compress(st, my_stage + 64 * b);
  if (start + in_round < l.len) return false;
  core::finish(st, my_stage + 64 * whole, in_round - 64 * whole, l.len, digest_out);
  return true;
}

// The device's StateOf: every lane keeps its own state in a register.
struct RegisterState {
  core::State* s;
  VRAMSNAP_HD core::State& operator()(uint32_t) const { return *s; }
};

// One warp's whole job: leaves [first, first + 32) of the batch.
// `stage` is kWarp * kStageBytes bytes (shared memory on the device). On the
// host, `sync` is a no-op and the lanes run one after another per phase.
// `state_of(lane)` is the lane's hash state (a register on the device).
template <class LaneLoop, class StateOf, class Sync>
VRAMSNAP_HD void hash_warp_leaves(const Batch& b, uint64_t first, uint8_t* stage, LeafRef* refs, bool* done,
                                  LaneLoop for_each_lane, StateOf state_of, Sync sync) {
  for_each_lane([&](uint32_t lane) {
    refs[lane] = leaf_ref(b, first + lane);
    state_of(lane) = core::initial_state();
    done[lane] = refs[lane].len == 0;
  });
  sync();
  for (uint32_t round = 0; round * kStageBytes < kLeafBytes; ++round) {
    for_each_lane([&](uint32_t lane) { stage_round(refs, round, lane, stage); });
    sync();
    for_each_lane([&](uint32_t lane) {
      if (!done[lane])
        done[lane] = compress_round(refs[lane], round, stage + lane * kStageBytes, state_of(lane),
                                    b.leaf_digests + (first + lane) * 32);
    });
    sync();
  }
}

// Root of chunk c from its leaf digests, compared with the expected hash.
VRAMSNAP_HD uint32_t root_matches(const Batch& b, uint32_t c, uint8_t* root_out) {
  const ChunkJob& j = b.jobs[c];
  core::State st = core::initial_state();
  uint8_t buf[64];
  uint32_t n = 0;
  uint64_t total = 0;
  auto put = [&](const uint8_t* p, uint64_t len) {
    for (uint64_t i = 0; i < len; ++i) {
      buf[n++] = p[i];
      if (n == 64) {
        core::compress(st, buf);
        n = 0;
      }
    }
    total += len;
  };
  // crypto::kLeafRootDomain, NUL included (a local constant: device code
  // cannot read a host namespace's array).
  constexpr char kDomain[] = "vramsnap/v1/chunk/leaf-sha256-16k";
  put(reinterpret_cast<const uint8_t*>(kDomain), sizeof(kDomain));
  const uint64_t k = leaves_of(j.size);
  put(b.leaf_digests + j.first_leaf * 32, k * 32);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(j.size >> (8 * i));
  put(len, 8);
  core::finish(st, buf, n, total, root_out);
  uint32_t diff = 0;
  for (int i = 0; i < 32; ++i) diff |= uint32_t(root_out[i] ^ j.expect[i]);
  return diff == 0 ? 1u : 0u;
}

#if defined(__CUDACC__)
// Leaves: one warp per 32 leaves, kWarpsPerBlock warps per block, grid-stride.
inline constexpr uint32_t kWarpsPerBlock = 4;

__global__ void leaf_digest_kernel(Batch b) {
  __shared__ __align__(16) uint8_t stage_all[kWarpsPerBlock][kWarp * kStageBytes];
  __shared__ LeafRef refs_all[kWarpsPerBlock][kWarp];
  __shared__ bool done_all[kWarpsPerBlock][kWarp];
  const uint32_t warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  core::State st;
  for (uint64_t first = (uint64_t(blockIdx.x) * kWarpsPerBlock + warp) * kWarp; first < b.leaves;
       first += uint64_t(gridDim.x) * kWarpsPerBlock * kWarp) {
    hash_warp_leaves(b, first, stage_all[warp], refs_all[warp], done_all[warp], [&](auto&& f) { f(lane); },
                     RegisterState{&st}, [] { __syncwarp(); });
  }
}

__global__ void root_verdict_kernel(Batch b) {
  for (uint32_t c = blockIdx.x * blockDim.x + threadIdx.x; c < b.chunks; c += gridDim.x * blockDim.x) {
    uint8_t root[32];
    b.verdicts[c] = root_matches(b, c, root);
  }
}
#endif

}  // namespace vramsnap::backend::kernels
