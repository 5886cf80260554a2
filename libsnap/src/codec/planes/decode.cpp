// The planes decoder on the host: checks the layout, code tables and block
// ends of every plane, then decodes Huffman planes into scratch planes four
// blocks at a time (independent streams, so one core overlaps their table
// lookups instead of waiting on one chain), and interleaves the planes into
// the chunk with the shuffle kernels. Raw planes are read where they lie.
#include "codec/planes/decode.h"

#include <cstring>
#include <string>

#include "codec/codec.h"
#include "codec/planes/block.h"

namespace vramsnap::codec::planes {
namespace {

constexpr unsigned kLanes = 4;  // blocks decoded together per thread

Error fault(Fault f, unsigned plane = ~0u, uint32_t block = ~0u) {
  std::string msg = std::string("planes chunk: ") + fault_text(f);
  if (plane != ~0u) msg += " (plane " + std::to_string(plane);
  if (block != ~0u) msg += ", block " + std::to_string(block);
  if (plane != ~0u) msg += ")";
  return format_error(std::move(msg));
}

// Every block of one Huffman plane into out[0, m); ends already checked.
Status decode_plane(const uint16_t* table, const uint8_t* area, uint64_t limit, const uint8_t* ends, uint32_t k,
                    uint32_t m, uint8_t* out, unsigned plane) {
  for (uint32_t j0 = 0; j0 < k; j0 += kLanes) {
    const unsigned lanes = k - j0 < kLanes ? k - j0 : kLanes;
    BlockStream s[kLanes];
    uint32_t end[kLanes];
    for (unsigned l = 0; l < lanes; ++l) {
      const uint32_t j = j0 + l;
      const uint32_t begin = j ? load_u32(ends + 4 * (j - 1)) : 0;
      end[l] = load_u32(ends + 4 * j);
      const uint32_t first = j * kBlockSymbols;
      s[l] = {uint64_t(begin) * 8, out + first, m - first < kBlockSymbols ? m - first : kBlockSymbols};
    }
    if (lanes == kLanes) {
      // Full blocks are the common case: step all four while each has a
      // whole step left, then let each finish alone.
      while (s[0].left >= 5 && s[1].left >= 5 && s[2].left >= 5 && s[3].left >= 5) {
        decode_step(table, area, limit, 1, s[0]);
        decode_step(table, area, limit, 1, s[1]);
        decode_step(table, area, limit, 1, s[2]);
        decode_step(table, area, limit, 1, s[3]);
      }
    }
    for (unsigned l = 0; l < lanes; ++l) {
      while (s[l].left) decode_step(table, area, limit, 1, s[l]);
      if (Fault f = finish_block(area, end[l], s[l].pos); f != Fault::None) return fault(f, plane, j0 + l);
    }
  }
  return {};
}

}  // namespace

const char* fault_text(Fault f) {
  switch (f) {
    case Fault::None: return "no fault";
    case Fault::Truncated: return "shorter than its header and plane descriptors";
    case Fault::Header: return "bad header (block size, plane count, reserved field or element count)";
    case Fault::Descriptor: return "bad plane descriptor (mode, value or reserved field)";
    case Fault::PlaneSize: return "plane size does not fit its mode";
    case Fault::TotalSize: return "header, planes and tail do not add up to the stored size";
    case Fault::CodeLengths: return "code lengths are not a complete code of at most 11 bits";
    case Fault::BlockEnds: return "block ends are not increasing up to the stream area's end";
    case Fault::Stream: return "a block's codes do not end in its last byte followed by zero bits";
  }
  return "unknown fault";
}

Status decode(Workspace& ws, unsigned e, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  Layout lay;
  if (Fault f = parse_layout(stored.data(), stored.size(), dst.size(), e, &lay); f != Fault::None) return fault(f);
  const uint8_t* s = stored.data();
  const uint32_t m = lay.elements;

  // Checks 4 and 5 for every plane before the first write.
  uint16_t tables[kMaxPlanes][kTableSize];
  size_t scratch = 0;
  for (unsigned p = 0; p < e; ++p) {
    const Plane& pl = lay.planes[p];
    if (pl.mode == kModeRaw) continue;
    scratch += m;
    if (pl.mode != kModeHuffman) continue;
    if (Fault f = build_table(s + pl.offset, tables[p]); f != Fault::None) return fault(f, p);
    const uint8_t* ends = s + pl.offset + kLengthsSize;
    uint32_t begin, end;
    for (uint32_t j = 0; j < pl.blocks; ++j)
      if (Fault f = block_extent(ends, j, pl.blocks, pl.stream_size, &begin, &end); f != Fault::None)
        return fault(f, p, j);
  }

  // Scratch is at most dst.size() bytes: the caller's own bound.
  uint8_t* buf = ws.planes.reserve(scratch);
  if (!buf) return out_of_memory(scratch);
  const uint8_t* src[kMaxPlanes];
  for (unsigned p = 0; p < e; ++p) {
    const Plane& pl = lay.planes[p];
    if (pl.mode == kModeRaw) {
      src[p] = s + pl.offset;
      continue;
    }
    uint8_t* out = buf;
    buf += m;
    src[p] = out;
    if (pl.mode == kModeConstant) {
      std::memset(out, pl.value, m);
      continue;
    }
    // The stream area's readable limit is the end of the stored bytes.
    const uint8_t* area = s + pl.stream_offset;
    VRAMSNAP_TRY(decode_plane(tables[p], area, stored.size() - pl.stream_offset, s + pl.offset + kLengthsSize,
                              pl.blocks, m, out, p));
  }
  join_planes(src, dst.data(), m, e);
  if (lay.tail_size) std::memcpy(dst.data() + size_t(m) * e, s + lay.tail_offset, lay.tail_size);
  return {};
}

}  // namespace vramsnap::codec::planes
