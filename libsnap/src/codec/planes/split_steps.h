#pragma once
// The CPU decoder's steps for the symbols of the f16 split layout
// (formats/snapshot-v1.md 6.4.1), host only. Exponents of weights have
// codes of about 3 bits, so an 11-bit window often holds four of them: the
// table here gives up to four symbols per lookup, where the planes decoder's
// multi-symbol table (steps.h) stops at three. Each entry's four symbol bytes
// are stored whole and its symbol count and bit count sit in byte arrays of
// their own, so a lookup is one store and two byte loads besides the entry.
// Like steps.h, a step only moves a block's bit position and output forward;
// the exact steps of block.h finish each block and check where it ended.
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/planes/steps.h"

namespace vramsnap::codec::planes {

inline constexpr uint32_t kQuadAhead = 20;  // bytes past its position a quad step may write

struct QuadTable {
  uint16_t table[kTableSize + kGatherSlack];  // the single-symbol table (block.h), for the exact steps
  uint32_t syms[kTableSize];                  // s0 | s1 << 8 | s2 << 16 | s3 << 24, unused bytes 0
  uint8_t count[kTableSize];                  // symbols of the entry, 1 to 4
  uint8_t shift[kTableSize];                  // bits their codes take, at most 11
};

// The quad table from the single-symbol one, branch-free (whether a further
// code fits is data). The window's bits after the first codes are known up
// to bit 11, and a code that fits in them is what a longer window decodes.
inline void build_quad_table(QuadTable& t) {
  for (uint32_t idx = 0; idx < kTableSize; ++idx) {
    uint32_t used = 0, syms = 0, count = 0, ok = 1;
    for (unsigned i = 0; i < 4; ++i) {
      const uint32_t e = t.table[(idx << used) & (kTableSize - 1)], len = e >> 8;
      ok &= used + len <= kMaxCodeLen;
      syms |= ((e & 0xff) << (8 * i)) & -ok;
      used += len & -ok;
      count += ok;
    }
    t.syms[idx] = syms;
    t.count[idx] = uint8_t(count);
    t.shift[idx] = uint8_t(used);
  }
}

// The same table sixteen entries at a time (AVX-512F, chosen at run time):
// four gathers instead of four dependent loads per entry. The gathers read
// 32 bits at 16-bit entries: table[kTableSize, +kGatherSlack) must be
// readable (their values are never used).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC bug 105593, as in steps.h
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) inline void build_quad_table_avx512(QuadTable& t) {
  const __m512i mask = _mm512_set1_epi32(kTableSize - 1), low16 = _mm512_set1_epi32(0xffff);
  const __m512i ff = _mm512_set1_epi32(0xff), max_len = _mm512_set1_epi32(kMaxCodeLen), one = _mm512_set1_epi32(1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (uint32_t idx = 0; idx < kTableSize; idx += 16) {
    const __m512i i = _mm512_add_epi32(_mm512_set1_epi32(int(idx)), lane);
    const __m512i e0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.table + idx)));
    __m512i used = _mm512_srli_epi32(e0, 8);
    __m512i syms = _mm512_and_si512(e0, ff), count = one;
    __mmask16 ok = 0xffff;
    for (unsigned n = 1; n < 4; ++n) {
      const __m512i at = _mm512_and_si512(_mm512_sllv_epi32(i, used), mask);
      const __m512i e = _mm512_and_si512(_mm512_i32gather_epi32(at, t.table, 2), low16);
      const __m512i more = _mm512_add_epi32(used, _mm512_srli_epi32(e, 8));
      ok &= _mm512_cmple_epu32_mask(more, max_len);
      used = _mm512_mask_mov_epi32(used, ok, more);
      syms = _mm512_mask_or_epi32(syms, ok, syms, _mm512_slli_epi32(_mm512_and_si512(e, ff), 8 * n));
      count = _mm512_mask_add_epi32(count, ok, count, one);
    }
    _mm512_storeu_si512(t.syms + idx, syms);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(t.count + idx), _mm512_cvtepi32_epi8(count));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(t.shift + idx), _mm512_cvtepi32_epi8(used));
  }
}
#pragma GCC diagnostic pop

// Five lookups from one marked window (5 x 11 bits never reach the marker,
// so the window is never zero and a step moves pos by at most kQuadBits):
// 5 to 20 symbols. Each lookup stores four bytes, the unused ones scratch
// that a later store overwrites, so the caller keeps kQuadAhead bytes of the
// block ahead of out. kNear: the window may lie near the end of the stored
// bytes (the checked read); otherwise the caller made sure it does not.
inline constexpr uint32_t kQuadSymbols = 20;  // most symbols of one step
inline constexpr uint32_t kQuadBits = 55;     // most bits of one step
template <bool kNear>
PLANES_HOT inline uint64_t quad_step(const QuadTable& t, const uint8_t* area, uint64_t limit, uint64_t pos,
                                     uint8_t*& out) {
  uint64_t w;
  if (kNear) {
    w = marked_window(area, limit, pos);
  } else {
    memcpy(&w, area + (pos >> 3), 8);
    w = (__builtin_bswap64(w) | 1) << (pos & 7);
  }
#pragma GCC unroll 5
  for (unsigned i = 0; i < 5; ++i) {
    const uint64_t idx = w >> (64 - kMaxCodeLen);
    memcpy(out, &t.syms[idx], 4);  // little-endian hosts only (as the shuffle kernels)
    out += t.count[idx];
    w <<= t.shift[idx];
  }
  return marked_pos(pos, w);
}

template <bool kNear>
PLANES_HOT inline void quad_round(const QuadTable& t, const uint8_t* area, uint64_t limit, uint64_t n, uint64_t& p0,
                                  uint64_t& p1, uint64_t& p2, uint64_t& p3, uint8_t*& o0, uint8_t*& o1, uint8_t*& o2,
                                  uint8_t*& o3) {
  for (; n; --n) {
    p0 = quad_step<kNear>(t, area, limit, p0, o0);
    p1 = quad_step<kNear>(t, area, limit, p1, o1);
    p2 = quad_step<kNear>(t, area, limit, p2, o2);
    p3 = quad_step<kNear>(t, area, limit, p3, o3);
  }
}

// Four blocks of quad steps while each has more than kQuadAhead bytes left
// (then each alone); `stop` is where each block's output ends. The steps
// go in runs that no lane can end early and whose windows all lie kQuadBits
// apart at most, so neither the lanes' ends nor the end of the stored bytes
// is tested per step unless a run comes near it. More lanes do not pay: the
// steps are bound by the core's throughput, not by the latency of one
// block's chain.
PLANES_HOT inline void quad_steps(const QuadTable& t, const uint8_t* area, uint64_t limit, BlockStream* s,
                                  uint8_t* const* stop) {
  uint64_t p0 = s[0].pos, p1 = s[1].pos, p2 = s[2].pos, p3 = s[3].pos;
  uint8_t *o0 = s[0].out, *o1 = s[1].out, *o2 = s[2].out, *o3 = s[3].out;
  for (;;) {
    const ptrdiff_t r0 = stop[0] - o0, r1 = stop[1] - o1, r2 = stop[2] - o2, r3 = stop[3] - o3;
    const ptrdiff_t r01 = r0 < r1 ? r0 : r1, r23 = r2 < r3 ? r2 : r3, room = r01 < r23 ? r01 : r23;
    const uint64_t f01 = p0 > p1 ? p0 : p1, f23 = p2 > p3 ? p2 : p3, far = f01 > f23 ? f01 : f23;
    // After n steps a lane is at least room - n * kQuadSymbols from its end.
    if (room < ptrdiff_t(kQuadAhead + kQuadSymbols)) break;
    const uint64_t n = uint64_t(room - kQuadAhead) / kQuadSymbols;
    if ((far + n * kQuadBits) / 8 + 8 <= limit)
      quad_round<false>(t, area, limit, n, p0, p1, p2, p3, o0, o1, o2, o3);
    else
      quad_round<true>(t, area, limit, n, p0, p1, p2, p3, o0, o1, o2, o3);
  }
  s[0] = {p0, o0, 0}, s[1] = {p1, o1, 0}, s[2] = {p2, o2, 0}, s[3] = {p3, o3, 0};
  for (unsigned l = 0; l < 4; ++l) {
    uint64_t p = s[l].pos;
    uint8_t* o = s[l].out;
    while (stop[l] - o > ptrdiff_t(kQuadAhead)) p = quad_step<true>(t, area, limit, p, o);
    s[l] = {p, o, uint32_t(stop[l] - o)};
  }
}

}  // namespace vramsnap::codec::planes
