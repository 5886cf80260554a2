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
constexpr size_t kSlack = 16;   // scratch bytes past a plane that multi-symbol steps may touch

Error fault(Fault f, unsigned plane = ~0u, uint32_t block = ~0u) {
  std::string msg = std::string("planes chunk: ") + fault_text(f);
  if (plane != ~0u) msg += " (plane " + std::to_string(plane);
  if (block != ~0u) msg += ", block " + std::to_string(block);
  if (plane != ~0u) msg += ")";
  return format_error(std::move(msg));
}

// Every block of one Huffman plane into out[0, m + 16); tables and ends
// already checked. The four lanes are blocks of one table group. The
// multi-symbol steps write up to 16 bytes ahead of a lane's position, so
// they run while every lane has more than that left in its own block; each
// lane then finishes with single-symbol steps.
static_assert(kBlocksPerTable % kLanes == 0, "four lanes share a code table");
Status decode_plane(const uint8_t* lengths, const uint8_t* area, uint64_t limit, const uint8_t* ends, uint32_t k,
                    uint32_t m, uint8_t* out, unsigned plane) {
  uint16_t table[kTableSize];
  uint32_t multi[kTableSize];
  constexpr uint32_t kAhead = 16;
  for (uint32_t j0 = 0; j0 < k; j0 += kLanes) {
    if (j0 % kBlocksPerTable == 0) {
      if (Fault f = build_table(lengths + size_t(j0 / kBlocksPerTable) * kLengthsSize, table); f != Fault::None)
        return fault(f, plane);
      build_multi_table(table, multi);
    }
    const unsigned lanes = k - j0 < kLanes ? k - j0 : kLanes;
    BlockStream s[kLanes];
    uint32_t end[kLanes];
    uint8_t* stop[kLanes];  // where each lane's block output ends
    for (unsigned l = 0; l < lanes; ++l) {
      const uint32_t j = j0 + l;
      const uint32_t begin = j ? load_u32(ends + 4 * (j - 1)) : 0;
      end[l] = load_u32(ends + 4 * j);
      const uint32_t first = j * kBlockSymbols;
      s[l] = {uint64_t(begin) * 8, out + first, m - first < kBlockSymbols ? m - first : kBlockSymbols};
      stop[l] = s[l].out + s[l].left;
    }
    if (lanes == kLanes) {
      // Four chains held in registers, so one core overlaps their lookups.
      uint64_t p0 = s[0].pos, p1 = s[1].pos, p2 = s[2].pos, p3 = s[3].pos;
      uint8_t *o0 = s[0].out, *o1 = s[1].out, *o2 = s[2].out, *o3 = s[3].out;
      while (stop[0] - o0 > kAhead && stop[1] - o1 > kAhead && stop[2] - o2 > kAhead && stop[3] - o3 > kAhead) {
        p0 = decode_multi5(multi, area, limit, p0, o0);
        p1 = decode_multi5(multi, area, limit, p1, o1);
        p2 = decode_multi5(multi, area, limit, p2, o2);
        p3 = decode_multi5(multi, area, limit, p3, o3);
      }
      s[0].pos = p0, s[1].pos = p1, s[2].pos = p2, s[3].pos = p3;
      s[0].out = o0, s[1].out = o1, s[2].out = o2, s[3].out = o3;
    }
    for (unsigned l = 0; l < lanes; ++l) {
      while (stop[l] - s[l].out > kAhead) s[l].pos = decode_multi5(multi, area, limit, s[l].pos, s[l].out);
      s[l].left = uint32_t(stop[l] - s[l].out);
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
  uint16_t table[kTableSize];
  size_t scratch = 0;
  for (unsigned p = 0; p < e; ++p) {
    const Plane& pl = lay.planes[p];
    if (pl.mode == kModeRaw) continue;
    scratch += m + kSlack;
    if (pl.mode != kModeHuffman) continue;
    for (uint32_t t = 0; t < pl.tables; ++t)
      if (Fault f = build_table(s + pl.offset + size_t(t) * kLengthsSize, table); f != Fault::None) return fault(f, p);
    const uint8_t* ends = s + pl.ends_offset;
    uint32_t begin, end;
    for (uint32_t j = 0; j < pl.blocks; ++j)
      if (Fault f = block_extent(ends, j, pl.blocks, pl.stream_size, &begin, &end); f != Fault::None)
        return fault(f, p, j);
  }

  // Scratch is at most dst.size() + 8 * kSlack bytes: the caller's own bound.
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
    buf += m + kSlack;
    src[p] = out;
    if (pl.mode == kModeConstant) {
      std::memset(out, pl.value, m);
      continue;
    }
    // The stream area's readable limit is the end of the stored bytes.
    const uint8_t* area = s + pl.stream_offset;
    VRAMSNAP_TRY(decode_plane(s + pl.offset, area, stored.size() - pl.stream_offset, s + pl.ends_offset, pl.blocks, m,
                              out, p));
  }
  join_planes(src, dst.data(), m, e);
  if (lay.tail_size) std::memcpy(dst.data() + size_t(m) * e, s + lay.tail_offset, lay.tail_size);
  return {};
}

}  // namespace vramsnap::codec::planes
