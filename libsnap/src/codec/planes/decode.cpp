// The planes decoder on the host: checks the layout, code tables and block
// ends of every plane, then decodes the chunk one table group (a strip of
// kStripElems elements) at a time: each Huffman plane's strip into a small
// scratch that stays in cache, several blocks at a time with the fast steps
// of steps.h (independent streams, so one core overlaps their table lookups
// instead of waiting on one chain), then the strip's planes interleaved into
// the chunk with the shuffle kernels. Raw planes are read where they lie.
#include "codec/planes/decode.h"

#include <cstring>
#include <new>
#include <string>

#include "codec/codec.h"
#include "codec/planes/split.h"
#include "codec/planes/steps.h"

namespace vramsnap::codec::planes {
namespace {

constexpr size_t kSlack = kAhead;  // scratch bytes past a strip that multi-symbol steps may touch
static_assert(kPlaneSlack >= kSlack);
constexpr uint32_t kStripElems = kBlocksPerTable * kBlockSymbols;  // elements of one table group

Error fault(Fault f, unsigned plane = ~0u, uint32_t block = ~0u) {
  std::string msg = std::string("planes chunk: ") + fault_text(f);
  if (plane != ~0u) msg += " (plane " + std::to_string(plane);
  if (block != ~0u) msg += ", block " + std::to_string(block);
  if (plane != ~0u) msg += ")";
  return format_error(std::move(msg));
}

// The fast steps of one group of kWide blocks (all of one table group),
// built twice: for BMI2 (shifts by any register, one-instruction trailing
// zero count), chosen at run time where the CPU has it, and for any x86-64.
struct Tables {
  uint16_t table[kTableSize + kGatherSlack];
  uint16_t swapped[kTableSize];
  uint32_t multi[kMultiWords];
  Plan plan;
  bool built = false;            // the tables above are those of `lengths`
  uint8_t lengths[kLengthsSize];
};

PLANES_HOT inline void fast_steps(const Tables& t, const uint8_t* area, uint64_t limit, BlockStream* s,
                                  uint8_t* const* stop, unsigned lanes) {
  if (t.plan.multi) {
    for (unsigned l = 0; l + kLanes <= lanes; l += kLanes) multi_steps(t.multi, area, limit, s + l, stop + l);
    return;
  }
  // Lock step needs eight full blocks: the last block of a plane may be short.
  if (lanes < kWide || s[kWide - 1].left != kBlockSymbols) return;
  switch (t.plan.per) {
    case 8: single_steps<8>(t.table, t.swapped, area, limit, s); break;
    case 7: single_steps<7>(t.table, t.swapped, area, limit, s); break;
    case 6: single_steps<6>(t.table, t.swapped, area, limit, s); break;
    default: single_steps<5>(t.table, t.swapped, area, limit, s); break;
  }
}

__attribute__((target("bmi,bmi2"))) void fast_steps_bmi2(const Tables& t, const uint8_t* area, uint64_t limit,
                                                          BlockStream* s, uint8_t* const* stop, unsigned lanes) {
  fast_steps(t, area, limit, s, stop, lanes);
}

void fast_steps_x86_64(const Tables& t, const uint8_t* area, uint64_t limit, BlockStream* s, uint8_t* const* stop,
                       unsigned lanes) {
  fast_steps(t, area, limit, s, stop, lanes);
}

// The end of the table group whose first block is j, of k blocks.
inline uint32_t group_end(uint32_t j, uint32_t k) { return k - j < kBlocksPerTable ? k : j + kBlocksPerTable; }

// Which fast paths the decoder takes: those the CPU has, or none.
struct Paths {
  bool bmi2, avx512;
};

Paths cpu_paths(bool fast) {
  static const bool bmi2 = __builtin_cpu_supports("bmi2");
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return {fast && bmi2, fast && avx512};
}

// Blocks [j_first, j_last) of one Huffman plane, all of one table group,
// into out (block j_first's first symbol) and up to kSlack bytes past the
// group's symbols; tables and ends already checked. The code tables are
// built unless `t` already holds those of the same 128 length bytes (about
// one group in twelve of real f32 weights' exponent planes). The fast steps
// take each run of blocks as far as they go; the exact steps finish each
// block and check where it ended.
Status decode_group(const uint8_t* len, const uint8_t* area, uint64_t limit, const uint8_t* ends, uint32_t j_first,
                    uint32_t j_last, uint32_t m, uint8_t* out, unsigned plane, Tables& t, Paths paths) {
  if (!t.built || std::memcmp(t.lengths, len, kLengthsSize) != 0) {
    t.built = false;
    if (Fault f = build_table(len, t.table); f != Fault::None) return fault(f, plane);
    t.table[kTableSize] = t.table[kTableSize + 1] = 0;  // read by the gathers, never used
    t.plan = plan_for(len);
    if (!t.plan.multi)
      swap_table(t.table, t.swapped);
    else if (paths.avx512)
      build_multi_table_avx512(t.table, t.multi);
    else
      build_multi_table(t.table, t.multi);
    std::memcpy(t.lengths, len, kLengthsSize);
    t.built = true;
  }
  for (uint32_t j0 = j_first; j0 < j_last; j0 += kWide) {
    const unsigned lanes = j_last - j0 < kWide ? j_last - j0 : kWide;
    BlockStream s[kWide];
    uint32_t end[kWide];
    uint8_t* stop[kWide];  // where each lane's block output ends
    for (unsigned l = 0; l < lanes; ++l) {
      const uint32_t j = j0 + l;
      const uint32_t begin = j ? load_u32(ends + 4 * (j - 1)) : 0;
      end[l] = load_u32(ends + 4 * j);
      const uint32_t first = j * kBlockSymbols;
      s[l] = {uint64_t(begin) * 8, out + size_t(j - j_first) * kBlockSymbols,
              m - first < kBlockSymbols ? m - first : kBlockSymbols};
      stop[l] = s[l].out + s[l].left;
    }
    if (paths.bmi2)
      fast_steps_bmi2(t, area, limit, s, stop, lanes);
    else
      fast_steps_x86_64(t, area, limit, s, stop, lanes);
    for (unsigned l = 0; l < lanes; ++l) {
      BlockStream b = s[l];  // a local: the byte stores cannot alias it
      while (b.left) decode_step(t.table, area, limit, 1, b);
      if (Fault f = finish_block(area, end[l], b.pos); f != Fault::None) return fault(f, plane, j0 + l);
    }
  }
  return {};
}

}  // namespace

Status decode_huffman_plane(const uint8_t* s, size_t stored_size, const Plane& pl, uint32_t m, uint8_t* out,
                            unsigned plane) {
  Tables t;
  for (uint32_t g = 0; g < pl.tables; ++g) {
    const uint32_t j = g * kBlocksPerTable;
    VRAMSNAP_TRY(decode_group(s + pl.offset + size_t(g) * kLengthsSize, s + pl.stream_offset,
                              stored_size - pl.stream_offset, s + pl.ends_offset, j, group_end(j, pl.blocks), m,
                              out + size_t(j) * kBlockSymbols, plane, t, cpu_paths(true)));
  }
  return {};
}

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
    case Fault::PaletteSize: return "a value table holds fewer than 2 or more than 256 values";
    case Fault::PaletteOrder: return "a value table is not strictly increasing";
    case Fault::PaletteIndex: return "an index code names no value of its table";
    case Fault::SplitSymbol: return "a code table of the split layout codes a symbol past 33";
    case Fault::SplitCounts: return "the split layout's non-zero counts disagree with its symbols or value bytes";
  }
  return "unknown fault";
}

Status decode(Workspace& ws, unsigned e, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  return decode_with_paths(ws, e, stored, dst, true);
}

Status decode_with_paths(Workspace& ws, unsigned e, std::span<const uint8_t> stored, std::span<uint8_t> dst,
                         bool fast) {
  if (is_split(stored.data(), stored.size())) return decode_split(ws, e, stored, dst);
  Layout lay;
  if (Fault f = parse_layout(stored.data(), stored.size(), dst.size(), e, &lay); f != Fault::None) return fault(f);
  const uint8_t* s = stored.data();
  const uint32_t m = lay.elements;
  const Paths paths = cpu_paths(fast);

  // Checks 4 and 5 for every plane before the first write.
  unsigned coded = 0, huffman = 0;  // planes that need a strip, planes that need tables
  for (unsigned p = 0; p < e; ++p) {
    const Plane& pl = lay.planes[p];
    if (pl.mode == kModeRaw) continue;
    ++coded;
    if (pl.mode != kModeHuffman) continue;
    ++huffman;
    for (uint32_t t = 0; t < pl.tables; ++t)
      if (Fault f = check_lengths(s + pl.offset + size_t(t) * kLengthsSize); f != Fault::None) return fault(f, p);
    const uint8_t* ends = s + pl.ends_offset;
    uint32_t begin, end;
    for (uint32_t j = 0; j < pl.blocks; ++j)
      if (Fault f = block_extent(ends, j, pl.blocks, pl.stream_size, &begin, &end); f != Fault::None)
        return fault(f, p, j);
  }

  // Scratch: code tables for each Huffman plane, then a strip for each
  // plane that is not raw; at most 8 * (18.6 + 128) KiB, so it stays in L2
  // for one or two coded planes and is never the chunk's size.
  const uint32_t strip = m < kStripElems ? m : kStripElems;
  const size_t scratch = huffman * sizeof(Tables) + coded * (size_t(strip) + kSlack);
  uint8_t* buf = ws.planes.reserve(scratch);
  if (!buf) return out_of_memory(scratch);
  Tables* tables = reinterpret_cast<Tables*>(buf);
  uint8_t* strips = buf + huffman * sizeof(Tables);
  const uint8_t* src[kMaxPlanes];
  uint8_t* strip_of[kMaxPlanes] = {};
  Tables* plane_tables[kMaxPlanes] = {};
  for (unsigned p = 0, h = 0, c = 0; p < e; ++p) {
    const Plane& pl = lay.planes[p];
    if (pl.mode == kModeRaw) continue;
    uint8_t* out = strips + size_t(c++) * (strip + kSlack);
    src[p] = strip_of[p] = out;
    if (pl.mode == kModeConstant) {
      std::memset(out, pl.value, strip);  // the same bytes for every strip
      continue;
    }
    plane_tables[p] = new (tables + h++) Tables;
  }
  for (uint32_t g = 0; g * uint64_t(kStripElems) < m; ++g) {
    const uint32_t first = g * kStripElems, n = m - first < kStripElems ? m - first : kStripElems;
    const uint32_t j = g * kBlocksPerTable, j_last = group_end(j, block_count(m));
    for (unsigned p = 0; p < e; ++p) {
      const Plane& pl = lay.planes[p];
      if (pl.mode == kModeRaw) {
        src[p] = s + pl.offset + first;
        continue;
      }
      if (pl.mode != kModeHuffman) continue;
      // The stream area's readable limit is the end of the stored bytes.
      VRAMSNAP_TRY(decode_group(s + pl.offset + size_t(g) * kLengthsSize, s + pl.stream_offset,
                                stored.size() - pl.stream_offset, s + pl.ends_offset, j, j_last, m,
                                strip_of[p], p, *plane_tables[p], paths));
    }
    join_planes(src, dst.data() + size_t(first) * e, n, e);
  }
  if (lay.tail_size) std::memcpy(dst.data() + size_t(m) * e, s + lay.tail_offset, lay.tail_size);
  return {};
}

}  // namespace vramsnap::codec::planes
