#pragma once
// The palette codec's stored layout (formats/snapshot-v1.md 6.5) and the
// checks a decoder makes before it writes anything: header, value tables,
// sizes, code lengths against table sizes, block ends. A palette chunk is
// one index plane, Huffman-coded exactly as a planes plane (6.4), and per
// table group a sorted table of the element values the indices name. Shared
// by the CPU decoder and the CUDA kernel: plain C++17, no allocation, every
// function __host__ __device__.
#include <stdint.h>

#include "codec/planes/layout.h"

namespace vramsnap::codec::palette {

using planes::Fault;
using planes::kBlockLog;
using planes::kLengthsSize;
using planes::load_u32;

inline constexpr uint32_t kHeaderSize = 8;
inline constexpr uint32_t kMinValues = 2;    // a complete code needs two symbols
inline constexpr uint32_t kMaxValues = 256;  // indices are bytes

struct Layout {
  uint32_t elem;          // e
  uint32_t elements;      // m >= 1
  uint32_t groups;        // T: value tables = code tables
  uint32_t counts_offset;  // T u16 table sizes
  uint32_t values_offset;  // the tables' values, group 0 first
  uint32_t tail_offset;
  uint32_t tail_size;
  planes::Plane index;    // the Huffman payload of the indices
};

PLANES_HD inline uint32_t load_u16(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8; }

// Checks 1-3 of section 6.5 and fills `out`. raw_size <= 2^28 (section
// 5.2) is assumed; sums are in 64 bits.
PLANES_HD inline Fault parse_layout(const uint8_t* s, uint64_t stored_size, uint64_t raw_size, unsigned elem,
                                    Layout* out) {
  if (elem != 2 && elem != 4 && elem != 8) return Fault::Header;
  if (stored_size < kHeaderSize) return Fault::Truncated;
  const uint64_t m = raw_size / elem;
  if (s[0] != kBlockLog || s[1] != elem || s[2] != 0 || s[3] != 0 || m == 0 || load_u32(s + 4) != m)
    return Fault::Header;
  const uint32_t k = planes::block_count(uint32_t(m));
  const uint32_t groups = planes::table_count(k);
  const uint64_t counts_end = kHeaderSize + 2ull * groups;
  if (stored_size < counts_end) return Fault::Truncated;
  uint64_t values = 0;
  for (uint32_t g = 0; g < groups; ++g) {
    const uint32_t c = load_u16(s + kHeaderSize + 2 * g);
    if (c < kMinValues || c > kMaxValues) return Fault::PaletteSize;
    values += c;
  }
  const uint64_t tail = raw_size - m * elem;
  const uint64_t index_at = counts_end + values * elem;
  const uint64_t huffman_head = uint64_t(kLengthsSize) * groups + 4ull * k;
  if (index_at + huffman_head + tail > stored_size) return Fault::TotalSize;
  out->elem = elem;
  out->elements = uint32_t(m);
  out->groups = groups;
  out->counts_offset = kHeaderSize;
  out->values_offset = uint32_t(counts_end);
  out->tail_size = uint32_t(tail);
  out->tail_offset = uint32_t(stored_size - tail);
  planes::Plane& pl = out->index;
  pl.mode = planes::kModeHuffman;
  pl.value = 0;
  pl.offset = uint32_t(index_at);
  pl.size = uint32_t(stored_size - tail - index_at);
  pl.blocks = k;
  pl.tables = groups;
  pl.ends_offset = uint32_t(index_at + uint64_t(kLengthsSize) * groups);
  pl.stream_offset = uint32_t(index_at + huffman_head);
  pl.stream_size = uint32_t(pl.size - huffman_head);
  return Fault::None;
}

// Little-endian element value of e bytes (at most 8), for the order check.
PLANES_HD inline uint64_t load_value(const uint8_t* p, unsigned e) {
  uint64_t v = 0;
  for (unsigned i = e; i-- > 0;) v = v << 8 | p[i];
  return v;
}

// Check 4 for the value table of one group: its `count` values (at
// `values`) are strictly increasing as little-endian unsigned integers.
PLANES_HD inline Fault check_values(const uint8_t* values, uint32_t count, unsigned e) {
  uint64_t prev = load_value(values, e);
  for (uint32_t i = 1; i < count; ++i) {
    const uint64_t v = load_value(values + uint64_t(i) * e, e);
    if (v <= prev) return Fault::PaletteOrder;
    prev = v;
  }
  return Fault::None;
}

// Check 5 for one group's code table: a complete code of at most 11 bits
// (6.4 check 4) in which no index at or past the table size has a code, so
// every decoded index names a value.
PLANES_HD inline Fault check_index_code(const uint8_t* lengths, uint32_t count) {
  if (Fault f = planes::check_lengths(lengths); f != Fault::None) return f;
  for (uint32_t sym = count; sym < 256; ++sym)
    if ((lengths[sym >> 1] >> ((sym & 1) * 4)) & 15) return Fault::PaletteIndex;
  return Fault::None;
}

// Where group g's values start: the counts of the groups before it, summed.
PLANES_HD inline uint32_t values_at(const uint8_t* s, const Layout& lay, uint32_t g) {
  uint32_t before = 0;
  for (uint32_t h = 0; h < g; ++h) before += load_u16(s + lay.counts_offset + 2 * h);
  return lay.values_offset + before * lay.elem;
}

// Replaces the index written in byte 0 of each of `count` elements at out
// (stride e) with the element's value, in place: each index is read before
// its element is written. Indices are below the table size (check 5).
PLANES_HD inline void apply_palette(uint8_t* out, uint32_t count, unsigned e, const uint8_t* values) {
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t* x = out + uint64_t(i) * e;
    const uint8_t* v = values + uint32_t(x[0]) * e;
    for (unsigned b = 0; b < e; ++b) x[b] = v[b];
  }
}

}  // namespace vramsnap::codec::palette
