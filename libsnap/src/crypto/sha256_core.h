#pragma once
// SHA-256 (FIPS 180-4) in portable code that compiles for the CPU and, under
// nvcc, for the GPU: the message schedule and compression function are one
// implementation, so the GPU leaf hasher is unit-tested on the CPU against
// OpenSSL. The CPU paths of libvramsnap hash with OpenSSL (SHA-NI); this code
// serves the device and the tests that pin it.
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define VRAMSNAP_HD __host__ __device__ __forceinline__
#else
#define VRAMSNAP_HD inline
#endif

// Fully unrolled rounds keep the schedule's 16 words and the constants in
// registers on the GPU (a loop indexes them dynamically, in local memory).
#if defined(__CUDACC__) || defined(__clang__)
#define VRAMSNAP_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define VRAMSNAP_UNROLL _Pragma("GCC unroll 64")
#else
#define VRAMSNAP_UNROLL
#endif

namespace vramsnap::crypto::sha256core {

struct State {
  uint32_t h[8];
};

VRAMSNAP_HD uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

VRAMSNAP_HD State initial_state() {
  return State{{0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu,
                0x5be0cd19u}};
}

VRAMSNAP_HD uint32_t round_constant(unsigned i) {
  // A switch-free table lookup that works in device code without a
  // __constant__ symbol (the compiler keeps it in registers or constant cache).
  constexpr uint32_t k[64] = {
      0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
      0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
      0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
      0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
      0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
      0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
      0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
      0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};
  return k[i];
}

// One 64-byte block, big-endian words, into the state.
VRAMSNAP_HD void compress(State& s, const uint8_t* block) {
  uint32_t w[16];
  VRAMSNAP_UNROLL
  for (unsigned i = 0; i < 16; ++i)
    w[i] = (uint32_t(block[4 * i]) << 24) | (uint32_t(block[4 * i + 1]) << 16) | (uint32_t(block[4 * i + 2]) << 8) |
           uint32_t(block[4 * i + 3]);
  uint32_t a = s.h[0], b = s.h[1], c = s.h[2], d = s.h[3], e = s.h[4], f = s.h[5], g = s.h[6], h = s.h[7];
  VRAMSNAP_UNROLL
  for (unsigned i = 0; i < 64; ++i) {
    uint32_t wi;
    if (i < 16) {
      wi = w[i];
    } else {
      // The schedule kept as a 16-word ring: w[i] = s1(w[i-2]) + w[i-7] + s0(w[i-15]) + w[i-16].
      const uint32_t w15 = w[(i + 1) & 15], w2 = w[(i + 14) & 15];
      const uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
      const uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
      wi = w[i & 15] = w[i & 15] + s0 + w[(i + 9) & 15] + s1;
    }
    const uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const uint32_t ch = (e & f) ^ (~e & g);
    const uint32_t t1 = h + S1 + ch + round_constant(i) + wi;
    const uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    const uint32_t t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s.h[0] += a; s.h[1] += b; s.h[2] += c; s.h[3] += d;
  s.h[4] += e; s.h[5] += f; s.h[6] += g; s.h[7] += h;
}

// The padded final block(s) of a message whose whole blocks have been
// compressed: `tail` holds its last (total_len % 64) bytes.
VRAMSNAP_HD void finish(State& s, const uint8_t* tail, size_t tail_len, uint64_t total_len, uint8_t out[32]) {
  uint8_t block[64];
  for (size_t i = 0; i < 64; ++i) block[i] = i < tail_len ? tail[i] : 0;
  block[tail_len] = 0x80;
  if (tail_len >= 56) {
    compress(s, block);
    for (size_t i = 0; i < 64; ++i) block[i] = 0;
  }
  const uint64_t bits = total_len * 8;
  for (unsigned i = 0; i < 8; ++i) block[56 + i] = uint8_t(bits >> (56 - 8 * i));
  compress(s, block);
  for (unsigned i = 0; i < 8; ++i) {
    out[4 * i] = uint8_t(s.h[i] >> 24);
    out[4 * i + 1] = uint8_t(s.h[i] >> 16);
    out[4 * i + 2] = uint8_t(s.h[i] >> 8);
    out[4 * i + 3] = uint8_t(s.h[i]);
  }
}

// SHA-256 of n contiguous bytes.
VRAMSNAP_HD void digest(const uint8_t* p, size_t n, uint8_t out[32]) {
  State s = initial_state();
  size_t off = 0;
  for (; off + 64 <= n; off += 64) compress(s, p + off);
  finish(s, p + off, n - off, n, out);
}

}  // namespace vramsnap::crypto::sha256core
