#pragma once
// The planes codec's f16 split layout (formats/snapshot-v1.md 6.4.1): one
// Huffman symbol per value (its exponent, or +0 / -0), and for every value
// that is not a zero its low mantissa byte and three bit planes (sign and
// the two high mantissa bits). Exponents of weights have short codes, so the
// symbols decode several to a lookup, and the rest is a copy rather than a
// second Huffman plane. Here: the layout's parse and checks, the value
// assembly and one GPU thread's whole block (split_block), plain C++17 and
// __host__ __device__ like layout.h, shared by the CPU decoder and the kernel.
#include "codec/planes/block.h"
#include "codec/planes/layout.h"

namespace vramsnap::codec::planes {

inline constexpr uint8_t kLayoutSplit = 1;  // chunk header byte 2
inline constexpr uint32_t kSplitHeadSize = kHeaderSize + 8;  // header + symbols_size + nonzero
inline constexpr unsigned kSplitSymbols = 34;  // exponents 0-31, +0, -0
inline constexpr uint8_t kSymPosZero = 32, kSymNegZero = 33;

struct SplitLayout {
  uint32_t elements;  // m
  uint32_t nonzero;   // z: values that are not +0 or -0
  Plane symbols;      // a Huffman plane over the symbols 0-33
  uint32_t counts_offset;  // k u32: non-zero values in blocks 0..j
  uint32_t low_offset;     // z bytes
  uint32_t bits_offset;    // three planes of ceil(z / 8) bytes: sign, mantissa bit 9, bit 8
  uint32_t bits_size;      // ceil(z / 8)
  uint32_t tail_offset;
  uint32_t tail_size;
};

// Whether stored bytes say they are in the split layout (header byte 2,
// which parse_layout() requires to be 0).
PLANES_HD inline bool is_split(const uint8_t* s, uint64_t stored_size) {
  return stored_size >= kHeaderSize && s[2] == kLayoutSplit;
}

// Checks S1-S2 of section 6.4.1 and fills `out`; sums in 64 bits.
PLANES_HD inline Fault parse_split(const uint8_t* s, uint64_t stored_size, uint64_t raw_size, unsigned elem,
                                   SplitLayout* out) {
  if (elem != 2) return Fault::Header;
  if (stored_size < kSplitHeadSize) return Fault::Truncated;
  const uint64_t m = raw_size / 2;
  if (s[0] != kBlockLog || s[1] != 2 || s[2] != kLayoutSplit || s[3] != 0 || load_u32(s + 4) != m || m == 0)
    return Fault::Header;
  const uint32_t k = block_count(uint32_t(m));
  const uint32_t tables = table_count(k);
  const uint64_t huffman_head = uint64_t(kLengthsSize) * tables + 4ull * k;
  const uint32_t sym_size = load_u32(s + 8), z = load_u32(s + 12);
  if (sym_size < huffman_head || z > m) return Fault::PlaneSize;
  const uint64_t bits = (uint64_t(z) + 7) / 8;
  const uint64_t tail = raw_size - m * 2;
  const uint64_t total = kSplitHeadSize + uint64_t(sym_size) + 4ull * k + z + 3 * bits + tail;
  if (total != stored_size) return Fault::TotalSize;
  Plane& p = out->symbols;
  p.mode = kModeHuffman;
  p.value = 0;
  p.offset = kSplitHeadSize;
  p.size = sym_size;
  p.blocks = k;
  p.tables = tables;
  p.ends_offset = uint32_t(kSplitHeadSize + uint64_t(kLengthsSize) * tables);
  p.stream_offset = uint32_t(kSplitHeadSize + huffman_head);
  p.stream_size = uint32_t(sym_size - huffman_head);
  out->elements = uint32_t(m);
  out->nonzero = z;
  out->counts_offset = kSplitHeadSize + sym_size;
  out->low_offset = out->counts_offset + 4 * k;
  out->bits_offset = uint32_t(out->low_offset + uint64_t(z));
  out->bits_size = uint32_t(bits);
  out->tail_offset = uint32_t(out->bits_offset + 3 * bits);
  out->tail_size = uint32_t(tail);
  return Fault::None;
}

// S3: no code for a symbol past 33 (check_lengths() makes the rest).
PLANES_HD inline Fault check_split_lengths(const uint8_t* lengths) {
  for (unsigned i = kSplitSymbols / 2; i < kLengthsSize; ++i)
    if (lengths[i]) return Fault::SplitSymbol;
  return check_lengths(lengths);
}

// S5 for block j: its non-zero values [*begin, *end) of the byte array and
// bit planes, no more than its symbols, the last block ending at z.
PLANES_HD inline Fault split_counts(const uint8_t* counts, uint32_t j, uint32_t k, uint32_t m, uint32_t z,
                                    uint32_t* begin, uint32_t* end) {
  *begin = j ? load_u32(counts + 4 * (j - 1)) : 0;
  *end = load_u32(counts + 4 * j);
  const uint32_t first = j * kBlockSymbols;
  const uint32_t symbols = m - first < kBlockSymbols ? m - first : kBlockSymbols;
  if (*end < *begin || *end - *begin > symbols || *end > z) return Fault::SplitCounts;
  if (j + 1 == k && *end != z) return Fault::SplitCounts;
  return Fault::None;
}

// S7: the bits of the three planes past z are zero.
PLANES_HD inline Fault check_split_padding(const uint8_t* bits, uint32_t size, uint32_t z) {
  if (z % 8 == 0) return Fault::None;
  const uint8_t pad = uint8_t(0xff << (z % 8));
  for (unsigned p = 0; p < 3; ++p)
    if (bits[uint64_t(p) * size + size - 1] & pad) return Fault::SplitCounts;
  return Fault::None;
}

// The non-zero symbols (exponents, below 32) among sym[0, n).
PLANES_HD inline uint32_t split_nonzero(const uint8_t* sym, uint32_t n) {
  uint32_t c = 0;
  for (uint32_t i = 0; i < n; ++i) c += sym[i] < kSymPosZero;
  return c;
}

PLANES_HD inline unsigned bit_at(const uint8_t* plane, uint32_t r) { return plane[r >> 3] >> (r & 7) & 1; }

// The values of symbols sym[0, n) into out (2 bytes each, little-endian),
// whose non-zero values are r0, r0 + 1, ... of the byte array and bit
// planes. The caller checked S5 and S6 for the block, so every index is in
// range.
PLANES_HD inline void split_values(const uint8_t* sym, uint32_t n, const uint8_t* low, const uint8_t* bits,
                                   uint32_t bits_size, uint32_t r0, uint8_t* out) {
  const uint8_t* sign = bits;
  const uint8_t* m9 = bits + bits_size;
  const uint8_t* m8 = bits + 2 * uint64_t(bits_size);
  uint32_t r = r0;
  for (uint32_t i = 0; i < n; ++i) {
    const unsigned s = sym[i];
    if (s >= kSymPosZero) {
      out[2 * i] = 0;
      out[2 * i + 1] = s == kSymNegZero ? 0x80 : 0;
      continue;
    }
    out[2 * i] = low[r];
    out[2 * i + 1] = uint8_t(bit_at(sign, r) << 7 | s << 2 | bit_at(m9, r) << 1 | bit_at(m8, r));
    ++r;
  }
}

// Block j of a checked split layout (S1-S5, S7; the block's code table
// built), the work of one GPU thread: its symbols decoded into the high
// bytes of its values, checked (S6) and then its values assembled in place,
// each from its own symbol only, from non-zero value nz_(j-1) on.
PLANES_HD inline Fault split_block(const uint8_t* s, uint64_t stored_size, const SplitLayout& lay, uint32_t j,
                                   const uint16_t* table, uint8_t* dst) {
  const Plane& pl = lay.symbols;
  const uint32_t k = pl.blocks, m = lay.elements;
  uint32_t begin, end, r0, r1;
  Fault f = block_extent(s + pl.ends_offset, j, k, pl.stream_size, &begin, &end);
  if (f == Fault::None) f = split_counts(s + lay.counts_offset, j, k, m, lay.nonzero, &r0, &r1);
  if (f != Fault::None) return f;
  const uint32_t first = j * kBlockSymbols;
  const uint32_t n = m - first < kBlockSymbols ? m - first : kBlockSymbols;
  uint8_t* out = dst + uint64_t(first) * 2;
  f = decode_block(table, s + pl.stream_offset, stored_size - pl.stream_offset, begin, end, out + 1, 2, n);
  if (f != Fault::None) return f;
  uint32_t c = 0;
  for (uint32_t i = 0; i < n; ++i) c += out[2 * i + 1] < kSymPosZero;
  if (c != r1 - r0) return Fault::SplitCounts;
  const uint8_t* low = s + lay.low_offset;
  const uint8_t* bits = s + lay.bits_offset;
  const uint32_t w = lay.bits_size;
  uint32_t r = r0;
  for (uint32_t i = 0; i < n; ++i) {
    const unsigned sym = out[2 * i + 1];
    if (sym >= kSymPosZero) {
      out[2 * i] = 0;
      out[2 * i + 1] = sym == kSymNegZero ? 0x80 : 0;
      continue;
    }
    out[2 * i] = low[r];
    out[2 * i + 1] =
        uint8_t(bit_at(bits, r) << 7 | sym << 2 | bit_at(bits + w, r) << 1 | bit_at(bits + 2 * uint64_t(w), r));
    ++r;
  }
  return Fault::None;
}

}  // namespace vramsnap::codec::planes
