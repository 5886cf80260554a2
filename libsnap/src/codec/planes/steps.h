#pragma once
// The CPU decoder's fast steps for Huffman blocks (formats/snapshot-v1.md
// 6.4), host only: several blocks of one table group decoded together so a
// core overlaps their table lookups. Short codes (bf16 exponents, ~3 bits)
// go through a table of up to three symbols per lookup; longer ones (f16
// planes, 5-9 bits) through the single-symbol table, eight blocks in lock
// step. Each step only moves a block's bit position and output forward;
// the exact steps of block.h finish every block and check where it ended,
// so a hostile block is refused the same way whichever steps ran.
//
// Both step kinds read a marked window: the stream's 64 bits from the
// block's byte with the lowest bit set, shifted to its bit, so 63 - (pos & 7)
// >= 56 bits of codes lie above the marker. After lookups that used u bits
// the marker sits at bit (pos & 7) + u, and its position gives the new
// offset without summing code lengths; a window whose codes ran past the
// marker shifted it out (the window is zero).
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "codec/planes/block.h"

namespace vramsnap::codec::planes {

inline constexpr unsigned kLanes = 4;     // blocks in flight with multi-symbol steps
inline constexpr unsigned kWide = 8;      // blocks in lock step with single-symbol steps
inline constexpr uint32_t kAhead = 16;    // bytes past its position a multi-symbol step may write
inline constexpr double kMultiBelow = 5;  // mean code length (bits) up to which the multi table pays
static_assert(kBlocksPerTable % kWide == 0 && kWide % kLanes == 0, "lanes share a code table");

PLANES_HOT inline uint64_t marked_window(const uint8_t* area, uint64_t limit, uint64_t pos) {
  const uint64_t byte = pos >> 3;
  uint64_t w = 0;
  if (__builtin_expect(byte + 8 <= limit, 1)) {
    memcpy(&w, area + byte, 8);
    w = __builtin_bswap64(w);
  } else {
    for (unsigned i = 0; i < 8; ++i) w = w << 8 | (byte + i < limit ? area[byte + i] : 0);
  }
  return (w | 1) << (pos & 7);
}

// The new bit position once a marked window read at `pos` is spent.
PLANES_HOT inline uint64_t marked_pos(uint64_t pos, uint64_t w) { return (pos & ~uint64_t(7)) + __builtin_ctzll(w); }

// How a table group's blocks are decoded, from its code lengths alone.
struct Plan {
  bool multi;    // multi-symbol table: two or more symbols per lookup
  unsigned per;  // single-symbol steps: symbols per window, 5 to 8
};

inline Plan plan_for(const uint8_t* lengths) {
  // Mean code length under the code's own probabilities (2^-len), in
  // 1/2048 bits.
  uint32_t mean = 0;
  for (unsigned s = 0; s < 256; ++s) {
    const unsigned len = (lengths[s >> 1] >> ((s & 1) * 4)) & 15;
    if (len) mean += len << (kMaxCodeLen - len);
  }
  Plan p;
  p.multi = mean <= kMultiBelow * kTableSize;
  // As many symbols as the 56-63 bits of a window usually hold (the rare
  // step that runs past them is redone exactly).
  const unsigned per = unsigned(58.0 * kTableSize / (mean + kTableSize / 2));
  p.per = per < 5 ? 5 : per > 8 ? 8 : per;
  return p;
}

// The single-symbol table with each entry's halves swapped: the length in
// the low byte, which a shift masks to six bits itself, the symbol above.
inline void swap_table(const uint16_t* table, uint16_t* swapped) {
  for (uint32_t i = 0; i < kTableSize; ++i) swapped[i] = uint16_t(table[i] >> 8 | table[i] << 8);
}

// Eight full blocks, N symbols a window each, in lock step: every lane has
// written as many symbols as the others, so one pointer addresses all
// eight outputs (4096 bytes apart) and eight chains fit the registers.
template <unsigned N>
PLANES_HOT inline void single_steps(const uint16_t* table, const uint16_t* swapped, const uint8_t* area,
                                    uint64_t limit, BlockStream* s) {
  uint64_t p[kWide];
#pragma GCC unroll 8
  for (unsigned l = 0; l < kWide; ++l) p[l] = s[l].pos;
  uint8_t* o = s[0].out;
  uint8_t* const last = o + kBlockSymbols - N;
  for (; o <= last; o += N) {
#pragma GCC unroll 8
    for (unsigned l = 0; l < kWide; ++l) {
      uint64_t w = marked_window(area, limit, p[l]);
#pragma GCC unroll 8
      for (unsigned i = 0; i < N; ++i) {
        const uint32_t e = swapped[w >> (64 - kMaxCodeLen)];
        o[l * kBlockSymbols + i] = uint8_t(e >> 8);
        w <<= (e & 63);
      }
      if (__builtin_expect(w != 0, 1)) {
        p[l] = marked_pos(p[l], w);
      } else {
        BlockStream b{p[l], o + l * kBlockSymbols, N};
        while (b.left) decode_step(table, area, limit, 1, b);
        p[l] = b.pos;
      }
    }
  }
#pragma GCC unroll 8
  for (unsigned l = 0; l < kWide; ++l) s[l] = {p[l], o + l * kBlockSymbols, uint32_t(last + N - o)};
}

// A table of up to three symbols per 11-bit window, derived from the
// single-symbol one: entry = s0 | s1 << 8 | s2 << 16 | (bits | count << 6)
// << 24, the `count` symbols' codes together taking `bits` <= 11 bits of
// the window. The `bits` of every entry follow the entries as bytes
// (kMultiWords in all): a step's shift then waits on one load, not a load
// and a shift.
inline constexpr uint32_t kMultiWords = kTableSize + kTableSize / 4;
inline void build_multi_table(const uint16_t* table, uint32_t* multi) {
  // Branch-free: whether a second and third code fit is data, and branches
  // on it would mispredict about once an entry. The window's bits after the
  // first codes are known only up to bit 11; a code that fits in them is
  // exactly what a longer window would decode.
  for (uint32_t idx = 0; idx < kTableSize; ++idx) {
    const uint32_t e0 = table[idx], l0 = e0 >> 8;
    const uint32_t e1 = table[(idx << l0) & (kTableSize - 1)], l1 = e1 >> 8;
    const uint32_t e2 = table[(idx << (l0 + l1)) & (kTableSize - 1)], l2 = e2 >> 8;
    const uint32_t ok1 = l0 + l1 <= kMaxCodeLen;
    const uint32_t ok2 = ok1 & (l0 + l1 + l2 <= kMaxCodeLen);
    const uint32_t bits = l0 + (l1 & -ok1) + (l2 & -ok2);
    const uint32_t syms = (e0 & 0xff) | ((e1 & 0xff) << 8 & -ok1) | ((e2 & 0xff) << 16 & -ok2);
    multi[idx] = syms | (bits | (1 + ok1 + ok2) << 6) << 24;
    reinterpret_cast<uint8_t*>(multi + kTableSize)[idx] = uint8_t(bits);
  }
}

// The same table, sixteen entries at a time (AVX-512F, chosen at run time):
// the loop above waits on three dependent loads per entry, a gather takes
// sixteen. The gathers read 32 bits at 16-bit entries, so `table` needs
// kGatherSlack readable entries past its end.
inline constexpr uint32_t kGatherSlack = 2;
// GCC 12's AVX-512 headers start some results from an undefined register,
// which -Wuninitialized reports at every use (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) inline void build_multi_table_avx512(const uint16_t* table, uint32_t* multi) {
  const __m512i mask = _mm512_set1_epi32(kTableSize - 1), low16 = _mm512_set1_epi32(0xffff);
  const __m512i ff = _mm512_set1_epi32(0xff), max_len = _mm512_set1_epi32(kMaxCodeLen), one = _mm512_set1_epi32(1 << 6);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  uint8_t* shift = reinterpret_cast<uint8_t*>(multi + kTableSize);
  for (uint32_t idx = 0; idx < kTableSize; idx += 16) {
    const __m512i i = _mm512_add_epi32(_mm512_set1_epi32(int(idx)), lane);
    const __m512i e0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + idx)));
    const __m512i l0 = _mm512_srli_epi32(e0, 8);
    const __m512i i1 = _mm512_and_si512(_mm512_sllv_epi32(i, l0), mask);
    const __m512i e1 = _mm512_and_si512(_mm512_i32gather_epi32(i1, table, 2), low16);
    const __m512i l01 = _mm512_add_epi32(l0, _mm512_srli_epi32(e1, 8));
    const __m512i i2 = _mm512_and_si512(_mm512_sllv_epi32(i, l01), mask);
    const __m512i e2 = _mm512_and_si512(_mm512_i32gather_epi32(i2, table, 2), low16);
    const __m512i l012 = _mm512_add_epi32(l01, _mm512_srli_epi32(e2, 8));
    const __mmask16 ok1 = _mm512_cmple_epu32_mask(l01, max_len);
    const __mmask16 ok2 = ok1 & _mm512_cmple_epu32_mask(l012, max_len);
    const __m512i bits = _mm512_mask_mov_epi32(_mm512_mask_mov_epi32(l0, ok1, l01), ok2, l012);
    __m512i count = _mm512_mask_add_epi32(one, ok1, one, one);
    count = _mm512_mask_add_epi32(count, ok2, count, one);
    __m512i syms = _mm512_and_si512(e0, ff);
    syms = _mm512_mask_or_epi32(syms, ok1, syms, _mm512_slli_epi32(_mm512_and_si512(e1, ff), 8));
    syms = _mm512_mask_or_epi32(syms, ok2, syms, _mm512_slli_epi32(_mm512_and_si512(e2, ff), 16));
    _mm512_storeu_si512(multi + idx, _mm512_or_si512(syms, _mm512_slli_epi32(_mm512_or_si512(bits, count), 24)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(shift + idx), _mm512_cvtepi32_epi8(bits));
  }
}
#pragma GCC diagnostic pop

inline constexpr unsigned kMaxStep = 15;  // symbols of one multi-symbol step at most

// One lookup of a multi-symbol step: its symbols to out, the window past
// their codes.
PLANES_HOT inline void multi_lookup(const uint32_t* multi, uint64_t& w, uint8_t*& out) {
  const uint8_t* shift = reinterpret_cast<const uint8_t*>(multi + kTableSize);
  const uint64_t idx = w >> (64 - kMaxCodeLen);
  const uint32_t e = multi[idx];
  memcpy(out, &e, 4);  // little-endian hosts only (as the shuffle kernels)
  out += e >> 30;
  w <<= shift[idx];
}

// Five lookups from one window (5 x 11 bits never reach the marker): 5 to
// 15 symbols. Each lookup stores four bytes, the last one scratch that a
// later store overwrites, so the caller keeps kAhead bytes of the block
// ahead of out.
PLANES_HOT inline uint64_t multi_step(const uint32_t* multi, const uint8_t* area, uint64_t limit, uint64_t pos,
                                      uint8_t*& out) {
  uint64_t w = marked_window(area, limit, pos);
#pragma GCC unroll 5
  for (unsigned i = 0; i < 5; ++i) multi_lookup(multi, w, out);
  return marked_pos(pos, w);
}

// Four blocks of multi-symbol steps while each has more than kAhead bytes
// left (then each alone); `stop` is where each block's output ends.
PLANES_HOT inline void multi_steps(const uint32_t* multi, const uint8_t* area, uint64_t limit, BlockStream* s,
                                   uint8_t* const* stop) {
  uint64_t p0 = s[0].pos, p1 = s[1].pos, p2 = s[2].pos, p3 = s[3].pos;
  uint8_t *o0 = s[0].out, *o1 = s[1].out, *o2 = s[2].out, *o3 = s[3].out;
  // A step writes at most kMaxStep symbols, so with r bytes left in every
  // block (r > kAhead) the next (r - kAhead - 1) / kMaxStep + 1 steps need
  // no check of where the lanes stand.
  for (;;) {
    ptrdiff_t r = stop[0] - o0;
    r = stop[1] - o1 < r ? stop[1] - o1 : r;
    r = stop[2] - o2 < r ? stop[2] - o2 : r;
    r = stop[3] - o3 < r ? stop[3] - o3 : r;
    if (r <= ptrdiff_t(kAhead)) break;
    for (size_t n = size_t(r - kAhead - 1) / kMaxStep + 1; n; --n) {
      // The four lanes' lookups interleaved one by one: each lane's lookups
      // form one chain of dependent loads, and a core overlaps the chains
      // only when their instructions lie close together in program order.
      uint64_t w0 = marked_window(area, limit, p0), w1 = marked_window(area, limit, p1);
      uint64_t w2 = marked_window(area, limit, p2), w3 = marked_window(area, limit, p3);
#pragma GCC unroll 5
      for (unsigned i = 0; i < 5; ++i) {
        multi_lookup(multi, w0, o0);
        multi_lookup(multi, w1, o1);
        multi_lookup(multi, w2, o2);
        multi_lookup(multi, w3, o3);
      }
      p0 = marked_pos(p0, w0), p1 = marked_pos(p1, w1), p2 = marked_pos(p2, w2), p3 = marked_pos(p3, w3);
    }
  }
  s[0].pos = p0, s[1].pos = p1, s[2].pos = p2, s[3].pos = p3;
  s[0].out = o0, s[1].out = o1, s[2].out = o2, s[3].out = o3;
  // Lanes drift apart by tens of symbols: the others go on alone.
  for (unsigned l = 0; l < kLanes; ++l) {
    uint64_t p = s[l].pos;
    uint8_t* o = s[l].out;
    while (stop[l] - o > kAhead) p = multi_step(multi, area, limit, p, o);
    s[l] = {p, o, uint32_t(stop[l] - o)};
  }
}

}  // namespace vramsnap::codec::planes
