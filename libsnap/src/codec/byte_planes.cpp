// Byte-plane transpose for the shuffle codec, and the join of separate
// planes that the planes codec's decoder ends with.
//
// The kernels for element sizes 2, 4 and 8 load whole elements and split them
// with shifts, which the compiler turns into SIMD shifts and packs. They work
// on blocks of kBlock elements: a trip count known at compile time plus
// __restrict pointers is what lets -O2 (GCC's "very cheap" vectoriser cost
// model, which refuses runtime alias checks and scalar epilogues) vectorise
// them, and a block touches at most kBlock * 8 bytes of input and as much
// output, so every stream stays in L1.
#include <immintrin.h>

#include <bit>
#include <cstring>

#include "codec/codec.h"

namespace vramsnap::codec {
namespace {

constexpr size_t kBlock = 1024;  // elements per block

template <class U>
U load(const uint8_t* p) {
  U v;
  std::memcpy(&v, p, sizeof v);  // unaligned, alias-safe; one mov after inlining
  return v;
}

template <class U>
void store(uint8_t* p, U v) {
  std::memcpy(p, &v, sizeof v);
}

// Kernels for one block of n <= kBlock elements; d*/s* point at each plane's
// slot for the block's first element. They are instantiated with N == kBlock
// (the vectorised path) and N == 0 (n = count, the last partial block). Plane
// pointers are separate __restrict parameters because GCC honours restrict on
// parameters, not on locals, and the per-plane statements are spelled out
// because -O2 does not unroll an inner plane loop before vectorising.
template <size_t N>
void split2(const uint8_t* __restrict src, size_t count, uint8_t* __restrict d0,
            uint8_t* __restrict d1) {
  const size_t n = N ? N : count;
  for (size_t i = 0; i < n; ++i) {
    const auto v = load<uint16_t>(src + i * 2);
    d0[i] = uint8_t(v);
    d1[i] = uint8_t(v >> 8);
  }
}

template <size_t N>
void split4(const uint8_t* __restrict src, size_t count, uint8_t* __restrict d0,
            uint8_t* __restrict d1, uint8_t* __restrict d2, uint8_t* __restrict d3) {
  const size_t n = N ? N : count;
  for (size_t i = 0; i < n; ++i) {
    const auto v = load<uint32_t>(src + i * 4);
    d0[i] = uint8_t(v);
    d1[i] = uint8_t(v >> 8);
    d2[i] = uint8_t(v >> 16);
    d3[i] = uint8_t(v >> 24);
  }
}

template <size_t N>
void split8(const uint8_t* __restrict src, size_t count, uint8_t* __restrict d0,
            uint8_t* __restrict d1, uint8_t* __restrict d2, uint8_t* __restrict d3,
            uint8_t* __restrict d4, uint8_t* __restrict d5, uint8_t* __restrict d6,
            uint8_t* __restrict d7) {
  const size_t n = N ? N : count;
  for (size_t i = 0; i < n; ++i) {
    const auto v = load<uint64_t>(src + i * 8);
    d0[i] = uint8_t(v);
    d1[i] = uint8_t(v >> 8);
    d2[i] = uint8_t(v >> 16);
    d3[i] = uint8_t(v >> 24);
    d4[i] = uint8_t(v >> 32);
    d5[i] = uint8_t(v >> 40);
    d6[i] = uint8_t(v >> 48);
    d7[i] = uint8_t(v >> 56);
  }
}

template <size_t N>
void join2(uint8_t* __restrict dst, size_t count, const uint8_t* __restrict s0,
           const uint8_t* __restrict s1) {
  const size_t n = N ? N : count;
  for (size_t i = 0; i < n; ++i) store(dst + i * 2, uint16_t(s0[i] | (s1[i] << 8)));
}

template <size_t N>
void join4(uint8_t* __restrict dst, size_t count, const uint8_t* __restrict s0,
           const uint8_t* __restrict s1, const uint8_t* __restrict s2,
           const uint8_t* __restrict s3) {
  using U = uint32_t;
  const size_t n = N ? N : count;
  for (size_t i = 0; i < n; ++i)
    store(dst + i * 4, U(s0[i]) | (U(s1[i]) << 8) | (U(s2[i]) << 16) | (U(s3[i]) << 24));
}

template <size_t N>
void join8(uint8_t* __restrict dst, size_t count, const uint8_t* __restrict s0,
           const uint8_t* __restrict s1, const uint8_t* __restrict s2,
           const uint8_t* __restrict s3, const uint8_t* __restrict s4,
           const uint8_t* __restrict s5, const uint8_t* __restrict s6,
           const uint8_t* __restrict s7) {
  using U = uint64_t;
  const size_t n = N ? N : count;
  for (size_t i = 0; i < n; ++i)
    store(dst + i * 8, U(s0[i]) | (U(s1[i]) << 8) | (U(s2[i]) << 16) | (U(s3[i]) << 24) |
                           (U(s4[i]) << 32) | (U(s5[i]) << 40) | (U(s6[i]) << 48) |
                           (U(s7[i]) << 56));
}

// The shifts above assume little-endian element order in memory.
static_assert(std::endian::native == std::endian::little, "shuffle kernels assume little-endian");

// Runs one kernel per block; `at(p, i)` is plane p's pointer at element i.
template <size_t N, class Dst>
void split_block(unsigned elem, const uint8_t* src, size_t count, Dst at) {
  switch (elem) {
    case 2: split2<N>(src, count, at(0), at(1)); break;
    case 4: split4<N>(src, count, at(0), at(1), at(2), at(3)); break;
    default:
      split8<N>(src, count, at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7));
      break;
  }
}

void shuffle_fixed(const uint8_t* src, uint8_t* dst, size_t elems, unsigned elem) {
  for (size_t i = 0; i < elems; i += kBlock) {
    auto at = [&](unsigned p) { return dst + p * elems + i; };
    const uint8_t* s = src + i * elem;
    if (elems - i >= kBlock) {
      split_block<kBlock>(elem, s, kBlock, at);
    } else {
      split_block<0>(elem, s, elems - i, at);
    }
  }
}

template <size_t N, class Src>
void join_block(unsigned elem, uint8_t* dst, size_t count, Src at) {
  switch (elem) {
    case 2: join2<N>(dst, count, at(0), at(1)); break;
    case 4: join4<N>(dst, count, at(0), at(1), at(2), at(3)); break;
    default:
      join8<N>(dst, count, at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7));
      break;
  }
}

void unshuffle_fixed(const uint8_t* src, uint8_t* dst, size_t elems, unsigned elem) {
  for (size_t i = 0; i < elems; i += kBlock) {
    auto at = [&](unsigned p) { return src + p * elems + i; };
    uint8_t* d = dst + i * elem;
    if (elems - i >= kBlock) {
      join_block<kBlock>(elem, d, kBlock, at);
    } else {
      join_block<0>(elem, d, elems - i, at);
    }
  }
}

void join_fixed(const uint8_t* const* planes, uint8_t* dst, size_t elems, unsigned elem) {
  for (size_t i = 0; i < elems; i += kBlock) {
    auto at = [&](unsigned p) { return planes[p] + i; };
    uint8_t* d = dst + i * elem;
    if (elems - i >= kBlock) {
      join_block<kBlock>(elem, d, kBlock, at);
    } else {
      join_block<0>(elem, d, elems - i, at);
    }
  }
}

// Any other element size: plane by plane, block by block, so each pass reads
// a window of the input that is still in cache from the previous plane.
void shuffle_generic(const uint8_t* src, uint8_t* dst, size_t elems, unsigned elem) {
  for (size_t i0 = 0; i0 < elems; i0 += kBlock) {
    const size_t n = elems - i0 < kBlock ? elems - i0 : kBlock;
    for (unsigned p = 0; p < elem; ++p) {
      uint8_t* d = dst + p * elems + i0;
      const uint8_t* s = src + i0 * elem + p;
      for (size_t i = 0; i < n; ++i) d[i] = s[i * elem];
    }
  }
}

void unshuffle_generic(const uint8_t* src, uint8_t* dst, size_t elems, unsigned elem) {
  for (size_t i0 = 0; i0 < elems; i0 += kBlock) {
    const size_t n = elems - i0 < kBlock ? elems - i0 : kBlock;
    for (unsigned p = 0; p < elem; ++p) {
      const uint8_t* s = src + p * elems + i0;
      uint8_t* d = dst + i0 * elem + p;
      for (size_t i = 0; i < n; ++i) d[i * elem] = s[i];
    }
  }
}

}  // namespace

namespace {

// Transposes (or restores) whole elements with the kernel for `elem`; a tail
// shorter than one element is stored as is.
using PlaneKernel = void (*)(const uint8_t*, uint8_t*, size_t, unsigned);
void run_planes(const uint8_t* src, uint8_t* dst, size_t n, unsigned elem, PlaneKernel fixed, PlaneKernel generic) {
  if (n == 0) return;
  if (elem <= 1) {
    std::memcpy(dst, src, n);
    return;
  }
  const size_t elems = n / elem;
  const size_t body = elems * elem;
  (elem == 2 || elem == 4 || elem == 8 ? fixed : generic)(src, dst, elems, elem);
  if (body < n) std::memcpy(dst + body, src + body, n - body);
}

}  // namespace

void shuffle_bytes(const uint8_t* src, uint8_t* dst, size_t n, unsigned elem) {
  run_planes(src, dst, n, elem, shuffle_fixed, shuffle_generic);
}

void unshuffle_bytes(const uint8_t* src, uint8_t* dst, size_t n, unsigned elem) {
  run_planes(src, dst, n, elem, unshuffle_fixed, unshuffle_generic);
}

namespace {

// Joins of two and four planes with AVX-512BW (chosen at run time), 64
// elements a step: byte and word unpacks interleave within 128-bit lanes,
// lane shuffles put the lanes in element order. The compiler's join4
// zero-extends every byte (about 15 GB/s of output in L2 on the 2-core VM);
// these write about 50 GB/s for both. They return the elements joined (a
// multiple of 64).
// GCC 12's AVX-512 headers start some results from an undefined register,
// which -Wuninitialized reports at every use (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f,avx512bw"))) size_t join2_avx512(const uint8_t* const* planes, uint8_t* dst,
                                                                  size_t elems) {
  const uint8_t* __restrict a = planes[0];
  const uint8_t* __restrict b = planes[1];
  size_t i = 0;
  for (; i + 64 <= elems; i += 64) {
    const __m512i x = _mm512_loadu_si512(a + i), y = _mm512_loadu_si512(b + i);
    const __m512i lo = _mm512_unpacklo_epi8(x, y), hi = _mm512_unpackhi_epi8(x, y);
    const __m512i t0 = _mm512_shuffle_i64x2(lo, hi, 0x44), t1 = _mm512_shuffle_i64x2(lo, hi, 0xee);
    _mm512_storeu_si512(dst + 2 * i, _mm512_shuffle_i64x2(t0, t0, 0xd8));
    _mm512_storeu_si512(dst + 2 * i + 64, _mm512_shuffle_i64x2(t1, t1, 0xd8));
  }
  return i;
}

__attribute__((target("avx512f,avx512bw"))) size_t join4_avx512(const uint8_t* const* planes, uint8_t* dst,
                                                                  size_t elems) {
  const uint8_t* __restrict a = planes[0];
  const uint8_t* __restrict b = planes[1];
  const uint8_t* __restrict c = planes[2];
  const uint8_t* __restrict d = planes[3];
  size_t i = 0;
  for (; i + 64 <= elems; i += 64) {
    const __m512i va = _mm512_loadu_si512(a + i), vb = _mm512_loadu_si512(b + i);
    const __m512i vc = _mm512_loadu_si512(c + i), vd = _mm512_loadu_si512(d + i);
    const __m512i ab_lo = _mm512_unpacklo_epi8(va, vb), ab_hi = _mm512_unpackhi_epi8(va, vb);
    const __m512i cd_lo = _mm512_unpacklo_epi8(vc, vd), cd_hi = _mm512_unpackhi_epi8(vc, vd);
    // q[k] holds elements 16 * lane + 4k .. 16 * lane + 4k + 3 in each lane.
    const __m512i q0 = _mm512_unpacklo_epi16(ab_lo, cd_lo), q1 = _mm512_unpackhi_epi16(ab_lo, cd_lo);
    const __m512i q2 = _mm512_unpacklo_epi16(ab_hi, cd_hi), q3 = _mm512_unpackhi_epi16(ab_hi, cd_hi);
    const __m512i t0 = _mm512_shuffle_i64x2(q0, q1, 0x44), t1 = _mm512_shuffle_i64x2(q2, q3, 0x44);
    const __m512i t2 = _mm512_shuffle_i64x2(q0, q1, 0xee), t3 = _mm512_shuffle_i64x2(q2, q3, 0xee);
    _mm512_storeu_si512(dst + 4 * i, _mm512_shuffle_i64x2(t0, t1, 0x88));
    _mm512_storeu_si512(dst + 4 * i + 64, _mm512_shuffle_i64x2(t0, t1, 0xdd));
    _mm512_storeu_si512(dst + 4 * i + 128, _mm512_shuffle_i64x2(t2, t3, 0x88));
    _mm512_storeu_si512(dst + 4 * i + 192, _mm512_shuffle_i64x2(t2, t3, 0xdd));
  }
  return i;
}
#pragma GCC diagnostic pop

}  // namespace

void join_planes(const uint8_t* const* planes, uint8_t* dst, size_t elems, unsigned elem) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  size_t done = 0;
  if (avx512 && elem == 2) done = join2_avx512(planes, dst, elems);
  if (avx512 && elem == 4) done = join4_avx512(planes, dst, elems);
  if (done == elems) return;
  const uint8_t* rest[8];
  for (unsigned p = 0; p < elem; ++p) rest[p] = planes[p] + done;
  join_fixed(rest, dst + done * elem, elems - done, elem);
}

}  // namespace vramsnap::codec
