#pragma once
// The planes codec's stored layout (formats/snapshot-v1.md 6.4) and the
// structural checks a decoder makes before it writes anything: header, plane
// descriptors, sizes, code lengths and block ends. Shared by the CPU decoder
// and the CUDA kernel, so it is plain C++17 with no library containers, no
// exceptions and no allocation; every function is __host__ __device__.
#include <stdint.h>

#if defined(__CUDACC__)
#define PLANES_HD __host__ __device__
#define PLANES_HOT __attribute__((always_inline))  // the inner steps of block decoding
#else
#define PLANES_HD
#define PLANES_HOT __attribute__((always_inline))
#endif

namespace vramsnap::codec::planes {

inline constexpr uint32_t kBlockLog = 12;
inline constexpr uint32_t kBlockSymbols = 1u << kBlockLog;  // symbols per Huffman block
inline constexpr uint32_t kHeaderSize = 8;
inline constexpr uint32_t kDescriptorSize = 8;
inline constexpr uint32_t kLengthsSize = 128;  // 256 four-bit code lengths
inline constexpr uint32_t kBlocksPerTable = 32;  // blocks that share one code table
inline constexpr unsigned kMaxCodeLen = 11;
inline constexpr uint32_t kTableSize = 1u << kMaxCodeLen;  // decode table entries
inline constexpr unsigned kMaxPlanes = 8;

enum Mode : uint8_t { kModeRaw = 0, kModeHuffman = 1, kModeConstant = 2 };

// Why a chunk was refused; fault_text() (decode.cpp) words it.
enum class Fault : uint8_t {
  None = 0,
  Truncated,    // shorter than header + descriptors
  Header,       // block_log, plane_count, reserved or element count
  Descriptor,   // mode, value or reserved field
  PlaneSize,    // a size that its mode does not allow
  TotalSize,    // header + payloads + tail != stored size
  CodeLengths,  // a length above 11, or not a complete code
  BlockEnds,    // decreasing, empty or not ending at the stream area's end
  Stream,       // a block that does not decode to exactly its bytes
  // The palette codec (codec/palette/layout.h), which shares the blocks:
  PaletteSize,   // a value table of fewer than 2 or more than 256 values
  PaletteOrder,  // a value table that is not strictly increasing
  PaletteIndex,  // a code for an index at or past its value table's size
  // The f16 split layout (split.h):
  SplitSymbol,  // a code table with a code for a symbol past 33
  SplitCounts,  // non-zero counts that disagree with the symbols or the byte array
};
inline constexpr Fault kLastFault = Fault::SplitCounts;

// Where each part of a plane lies, as offsets into the stored bytes.
struct Plane {
  uint8_t mode;
  uint8_t value;
  uint32_t offset;         // payload
  uint32_t size;           // payload bytes
  uint32_t blocks;         // huffman: k
  uint32_t tables;         // huffman: ceil(k / 32) code tables
  uint32_t ends_offset;    // huffman: the block ends
  uint32_t stream_offset;  // huffman: the stream area
  uint32_t stream_size;
};

struct Layout {
  uint32_t elem;      // e
  uint32_t elements;  // m
  uint32_t tail_offset;
  uint32_t tail_size;
  Plane planes[kMaxPlanes];
};

PLANES_HD inline uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

PLANES_HD inline uint32_t block_count(uint32_t elements) { return (elements + kBlockSymbols - 1) >> kBlockLog; }
PLANES_HD inline uint32_t table_count(uint32_t blocks) { return (blocks + kBlocksPerTable - 1) / kBlocksPerTable; }

// Checks 1-3 of section 6.4 and fills `out`. raw_size <= 2^28 is the
// record rule (section 5.2) and is assumed; the sums are in 64 bits, so
// nothing here can wrap.
PLANES_HD inline Fault parse_layout(const uint8_t* s, uint64_t stored_size, uint64_t raw_size, unsigned elem,
                                    Layout* out) {
  if (elem != 2 && elem != 4 && elem != 8) return Fault::Header;
  const uint64_t head = kHeaderSize + uint64_t(kDescriptorSize) * elem;
  if (stored_size < head) return Fault::Truncated;
  const uint64_t m = raw_size / elem;
  if (s[0] != kBlockLog || s[1] != elem || s[2] != 0 || s[3] != 0 || load_u32(s + 4) != m) return Fault::Header;
  out->elem = elem;
  out->elements = uint32_t(m);
  const uint32_t k = block_count(uint32_t(m));
  const uint32_t tables = table_count(k);
  const uint64_t huffman_head = uint64_t(kLengthsSize) * tables + 4ull * k;
  uint64_t at = head;
  for (unsigned p = 0; p < elem; ++p) {
    const uint8_t* d = s + kHeaderSize + p * kDescriptorSize;
    Plane& pl = out->planes[p];
    pl.mode = d[0];
    pl.value = d[1];
    pl.size = load_u32(d + 4);
    pl.blocks = 0;
    pl.tables = 0;
    pl.ends_offset = 0;
    pl.stream_offset = 0;
    pl.stream_size = 0;
    if (d[2] != 0 || d[3] != 0 || pl.mode > kModeConstant) return Fault::Descriptor;
    if (pl.mode != kModeConstant && pl.value != 0) return Fault::Descriptor;
    switch (pl.mode) {
      case kModeRaw:
        if (pl.size != m) return Fault::PlaneSize;
        break;
      case kModeConstant:
        if (pl.size != 0) return Fault::PlaneSize;
        break;
      default:
        if (m == 0 || pl.size < huffman_head) return Fault::PlaneSize;
        pl.blocks = k;
        pl.tables = tables;
        break;
    }
    if (at + pl.size > stored_size) return Fault::TotalSize;
    pl.offset = uint32_t(at);
    if (pl.mode == kModeHuffman) {
      pl.ends_offset = uint32_t(at + uint64_t(kLengthsSize) * tables);
      pl.stream_offset = uint32_t(at + huffman_head);
      pl.stream_size = uint32_t(pl.size - huffman_head);
    }
    at += pl.size;
  }
  const uint64_t tail = raw_size - m * elem;
  if (at + tail != stored_size) return Fault::TotalSize;
  out->tail_offset = uint32_t(at);
  out->tail_size = uint32_t(tail);
  return Fault::None;
}

// Check 4: the 128 bytes of code lengths form a complete canonical code of
// at most 11 bits (the Kraft sum of their codes fills the 11-bit table
// exactly, and at least two symbols have codes).
PLANES_HD inline Fault check_lengths(const uint8_t* lengths) {
  uint32_t kraft = 0, unused = 0;
  for (unsigned i = 0; i < kLengthsSize; ++i) {
    const unsigned lo = lengths[i] & 15, hi = lengths[i] >> 4;
    if (lo > kMaxCodeLen || hi > kMaxCodeLen) return Fault::CodeLengths;
    kraft += (lo ? kTableSize >> lo : 0) + (hi ? kTableSize >> hi : 0);
    unused += (lo == 0) + (hi == 0);
  }
  if (kraft != kTableSize || unused > 254) return Fault::CodeLengths;
  return Fault::None;
}

// Check 4 and the decode table: entry = symbol | length << 8, for every
// 11-bit window whose first `length` bits are the symbol's code.
PLANES_HD inline Fault build_table(const uint8_t* lengths, uint16_t* table) {
  if (Fault f = check_lengths(lengths); f != Fault::None) return f;
  uint32_t count[kMaxCodeLen + 1] = {};
  for (unsigned s = 0; s < 256; ++s) ++count[(lengths[s >> 1] >> ((s & 1) * 4)) & 15];
  // Canonical order: by length, then symbol; codes count up from zero, so a
  // code of length L owns table entries [code << (11-L), (code+1) << (11-L)).
  // start[L] is the first entry of the codes of length L.
  uint32_t start[kMaxCodeLen + 1] = {};
  for (unsigned len = 1, at = 0; len <= kMaxCodeLen; ++len) {
    start[len] = at;
    at += count[len] << (kMaxCodeLen - len);
  }
  for (unsigned s = 0; s < 256; ++s) {
    const unsigned len = (lengths[s >> 1] >> ((s & 1) * 4)) & 15;
    if (!len) continue;
    const uint32_t span = 1u << (kMaxCodeLen - len);
    const uint16_t entry = uint16_t(s | len << 8);
    for (uint32_t i = 0; i < span; ++i) table[start[len] + i] = entry;
    start[len] += span;
  }
  return Fault::None;
}

// Check 5 for one block, which is all a GPU thread needs: block j's stream
// is [*begin, *end) within the stream area, at least one byte, and the last
// block ends where the area does. Checking every block this way checks the
// whole table.
PLANES_HD inline Fault block_extent(const uint8_t* ends, uint32_t j, uint32_t k, uint32_t stream_size,
                                    uint32_t* begin, uint32_t* end) {
  *begin = j ? load_u32(ends + 4 * (j - 1)) : 0;
  *end = load_u32(ends + 4 * j);
  if (*end <= *begin || *end > stream_size) return Fault::BlockEnds;
  if (j + 1 == k && *end != stream_size) return Fault::BlockEnds;
  return Fault::None;
}

}  // namespace vramsnap::codec::planes
