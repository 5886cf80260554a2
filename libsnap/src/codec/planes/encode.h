#pragma once
// The planes encoder (formats/snapshot-v1.md 6.4), host only.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/planes/huffman.h"
#include "codec/workspace.h"

namespace vramsnap::codec::planes {

// Little-endian, as layout.h's load_u32 reads it back.
inline void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}

// A plane is Huffman-coded only when that saves at least this fraction of
// it; planes closer to random stay raw, which keeps them a copy to decode.
inline constexpr double kMinPlaneSaving = 0.02;

// A plane's code tables, one per group of kBlocksPerTable blocks, and the
// bytes its Huffman payload takes at most (every block pads < 8 bits).
struct PlaneCode {
  std::vector<Lengths> lengths;
  uint64_t bound = 0;
};

// Writes the Huffman payload (section 6.4) of plane[0, m) with the code
// `pc` at out, which has room for pc.bound bytes; returns its size.
size_t write_huffman(const uint8_t* plane, uint32_t m, const PlaneCode& pc, uint8_t* out);

// Two-byte chunks are stored in the f16 split layout (section 6.4.1) when
// it takes at most this factor of the byte planes' size: it decodes in
// about 0.55 of their time, and on trained f16 weights the chunks where it
// loses store 0.5-0.6% more split (bench-results/planes-f16-cpu-2core-2026-11-30b.md).
inline constexpr double kSplitSlack = 1.01;

// The split layout of raw[0, n) (n >= 2) at out, using sym (n / 2 bytes)
// as scratch, when it takes at most `cap` bytes: its size, else 0.
size_t encode_split(const uint8_t* raw, size_t n, uint8_t* sym, uint8_t* out, size_t cap);

// Encodes raw (elem_size 2, 4 or 8) into ws.planes_out; the result may be larger
// than raw for tiny chunks (the caller then stores the chunk raw).
Result<std::span<const uint8_t>> encode(Workspace& ws, std::span<const uint8_t> raw, unsigned elem_size);

}  // namespace vramsnap::codec::planes
