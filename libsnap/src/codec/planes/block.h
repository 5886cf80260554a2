#pragma once
// Decoding one Huffman block of the planes codec (formats/snapshot-v1.md
// 6.4): the per-thread work of the CUDA kernel and the exact steps that
// finish every block of the CPU decoder (whose faster steps are in
// steps.h), one __host__ __device__ definition for both. A block is decoded
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
