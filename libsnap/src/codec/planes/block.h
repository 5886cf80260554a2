#pragma once
// Decoding one Huffman block of the planes codec (formats/snapshot-v1.md
// 6.4): the per-thread work of the CUDA kernel and the inner loop of the CPU
// decoder, one __host__ __device__ definition for both. A block is decoded
// from a 64-bit window reloaded every five symbols (5 x 11 bits fit in the
// 57 bits a window at any bit offset holds), with one table lookup per
// symbol. Reads are bounded by the end of the stored bytes, not the block:
// bits past a block's end only ever fill the lookahead of a code that lies
// inside it, and finish_block() checks that the codes ended where the block
// does.
#include <stdint.h>

#include "codec/planes/layout.h"

#if !defined(__CUDA_ARCH__)
#include <string.h>
#endif

namespace vramsnap::codec::planes {

// 64 bits of the stream starting at bit `pos` (most significant bit first);
// bytes at or past `limit` read as zero, so no read leaves [area, limit).
PLANES_HD PLANES_HOT inline uint64_t peek64(const uint8_t* area, uint64_t limit, uint64_t pos) {
  const uint64_t byte = pos >> 3;
  uint64_t w = 0;
#if !defined(__CUDA_ARCH__)
  if (byte + 8 <= limit) {
    memcpy(&w, area + byte, 8);
    w = __builtin_bswap64(w);
    return w << (pos & 7);
  }
#endif
  for (unsigned i = 0; i < 8; ++i) w = w << 8 | (byte + i < limit ? area[byte + i] : 0);
  return w << (pos & 7);
}

PLANES_HD PLANES_HOT inline void store4(uint8_t* p, uint32_t v) {
#if !defined(__CUDA_ARCH__)
  memcpy(p, &v, 4);  // little-endian hosts only (as the shuffle kernels)
#else
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
#endif
}

// One block in flight: the next bit to read and where its symbols go.
struct BlockStream {
  uint64_t pos;    // bit offset into the stream area
  uint8_t* out;    // the next symbol's destination
  uint32_t left;   // symbols still to decode
};

// Decodes min(5, left) symbols. `stride` is the distance between two
// symbols' destinations (1 into a plane, e into interleaved elements).
PLANES_HD PLANES_HOT inline void decode_step(const uint16_t* table, const uint8_t* area, uint64_t limit, uint32_t stride,
                                  BlockStream& b) {
  uint64_t w = peek64(area, limit, b.pos);
  const uint32_t n = b.left < 5 ? b.left : 5;
  for (uint32_t i = 0; i < n; ++i) {
    const uint16_t e = table[w >> (64 - kMaxCodeLen)];
    const unsigned len = e >> 8;
    *b.out = uint8_t(e);
    b.out += stride;
    w <<= len;
    b.pos += len;
  }
  b.left -= n;
}

// Exactly five symbols from one window, straight-line: the CPU decoder's
// hot loop keeps four of these chains in flight. Returns the new position.
PLANES_HD PLANES_HOT inline uint64_t decode5(const uint16_t* table, const uint8_t* area, uint64_t limit, uint64_t pos,
                                  uint8_t* out, uint32_t stride) {
  // Spelled out: -O2 does not unroll a five-trip loop, and the loop's
  // counter and branch cost as much as the lookups.
  uint64_t w = peek64(area, limit, pos);
  uint16_t e0 = table[w >> (64 - kMaxCodeLen)];
  w <<= (e0 >> 8);
  uint16_t e1 = table[w >> (64 - kMaxCodeLen)];
  w <<= (e1 >> 8);
  uint16_t e2 = table[w >> (64 - kMaxCodeLen)];
  w <<= (e2 >> 8);
  uint16_t e3 = table[w >> (64 - kMaxCodeLen)];
  w <<= (e3 >> 8);
  uint16_t e4 = table[w >> (64 - kMaxCodeLen)];
  out[0] = uint8_t(e0);
  out[stride] = uint8_t(e1);
  out[2 * stride] = uint8_t(e2);
  out[3 * stride] = uint8_t(e3);
  out[4 * stride] = uint8_t(e4);
  return pos + (e0 >> 8) + (e1 >> 8) + (e2 >> 8) + (e3 >> 8) + (e4 >> 8);
}

// A table of up to three symbols per 11-bit window, derived from the
// single-symbol table: entry = s0 | s1 << 8 | s2 << 16 | bits << 24 |
// count << 28, where the `count` symbols' codes together take `bits` <= 11
// bits of the window. Weight planes average under 3 bits a code, so one
// lookup yields two or three symbols.
PLANES_HD inline void build_multi_table(const uint16_t* table, uint32_t* multi) {
  for (uint32_t idx = 0; idx < kTableSize; ++idx) {
    uint32_t entry = 0, bits = 0, count = 0;
    while (count < 3) {
      // The window's bits after `bits` are known only up to bit 11; a code
      // that fits in them is exactly what a longer window would decode.
      const uint16_t e = table[(idx << bits) & (kTableSize - 1)];
      const uint32_t len = e >> 8;
      if (bits + len > kMaxCodeLen) break;
      entry |= uint32_t(e & 0xff) << (8 * count);
      bits += len;
      ++count;
    }
    multi[idx] = entry | bits << 24 | count << 28;
  }
}

// Five lookups of the multi-symbol table from one window (5 x 11 bits fit
// in 57): 5 to 15 symbols to out. Each lookup stores four bytes, the last
// one scratch that the next lookup or a later step overwrites, so the
// caller keeps at least 16 bytes of this block's output ahead of out.
PLANES_HD PLANES_HOT inline uint64_t decode_multi5(const uint32_t* multi, const uint8_t* area, uint64_t limit, uint64_t pos,
                                        uint8_t*& out) {
  uint64_t w = peek64(area, limit, pos);
  unsigned used = 0;
#define PLANES_MULTI_STEP                                  \
  {                                                        \
    const uint32_t e = multi[w >> (64 - kMaxCodeLen)];     \
    store4(out, e);                                        \
    out += e >> 28;                                        \
    w <<= (e >> 24) & 15;                                  \
    used += (e >> 24) & 15;                                \
  }
  PLANES_MULTI_STEP PLANES_MULTI_STEP PLANES_MULTI_STEP PLANES_MULTI_STEP PLANES_MULTI_STEP
#undef PLANES_MULTI_STEP
  return pos + used;
}

// Check 6 of section 6.4 once a block's symbols are decoded: its codes ended
// in its last byte and the bits after them are zero.
PLANES_HD inline Fault finish_block(const uint8_t* area, uint32_t end, uint64_t pos) {
  const uint64_t end_bit = uint64_t(end) * 8;
  if (pos > end_bit || end_bit - pos >= 8) return Fault::Stream;
  const unsigned pad = unsigned(end_bit - pos);
  if (pad && (area[end - 1] & ((1u << pad) - 1)) != 0) return Fault::Stream;
  return Fault::None;
}

// Decodes block [begin, end) of a stream area into `count` symbols at out,
// out + stride, ...; the whole per-block job of one GPU thread.
PLANES_HD inline Fault decode_block(const uint16_t* table, const uint8_t* area, uint64_t limit, uint32_t begin,
                                    uint32_t end, uint8_t* out, uint32_t stride, uint32_t count) {
  BlockStream b{uint64_t(begin) * 8, out, count};
  while (b.left) decode_step(table, area, limit, stride, b);
  return finish_block(area, end, b.pos);
}

}  // namespace vramsnap::codec::planes
