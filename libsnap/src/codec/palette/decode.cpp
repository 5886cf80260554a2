// The palette decoder on the host: checks the layout, every value table and
// code table and the block ends, decodes the index plane with the planes
// codec's Huffman steps into scratch, then maps each group's indices
// through its value table into the chunk.
#include "codec/palette/decode.h"

#include <cstring>
#include <string>

#include "codec/palette/layout.h"
#include "codec/planes/decode.h"

namespace vramsnap::codec::palette {
namespace {

constexpr uint32_t kGroupElements = planes::kBlocksPerTable * planes::kBlockSymbols;

Error fault(Fault f, uint32_t group = ~0u) {
  std::string msg = std::string("palette chunk: ") + planes::fault_text(f);
  if (group != ~0u) msg += " (group " + std::to_string(group) + ")";
  return format_error(std::move(msg));
}

// Elements [first, first + count) from their indices; e fixed per call site
// so the copy is one load and one store.
template <unsigned E>
void map_group(const uint8_t* idx, const uint8_t* values, uint8_t* dst, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) std::memcpy(dst + size_t(i) * E, values + size_t(idx[i]) * E, E);
}

}  // namespace

Status decode(Workspace& ws, unsigned e, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  Layout lay;
  if (Fault f = parse_layout(stored.data(), stored.size(), dst.size(), e, &lay); f != Fault::None) return fault(f);
  const uint8_t* s = stored.data();
  const uint32_t m = lay.elements;
  const planes::Plane& pl = lay.index;

  // Checks 4-6 before the first write.
  for (uint32_t g = 0, at = lay.values_offset; g < lay.groups; ++g) {
    const uint32_t c = load_u16(s + lay.counts_offset + 2 * g);
    if (Fault f = check_values(s + at, c, e); f != Fault::None) return fault(f, g);
    if (Fault f = check_index_code(s + pl.offset + size_t(g) * kLengthsSize, c); f != Fault::None) return fault(f, g);
    at += c * e;
  }
  uint32_t begin, end;
  for (uint32_t j = 0; j < pl.blocks; ++j)
    if (Fault f = planes::block_extent(s + pl.ends_offset, j, pl.blocks, pl.stream_size, &begin, &end);
        f != Fault::None)
      return format_error(std::string("palette chunk: ") + planes::fault_text(f) + " (block " + std::to_string(j) +
                          ")");

  // Scratch is m + slack bytes, below the caller's own dst bound.
  uint8_t* idx = ws.planes.reserve(size_t(m) + planes::kPlaneSlack);
  if (!idx) return out_of_memory(size_t(m) + planes::kPlaneSlack);
  if (Status st = planes::decode_huffman_plane(s, stored.size(), pl, m, idx, 0); !st) {
    std::string msg = st.error().message();
    if (msg.rfind("planes chunk: ", 0) == 0) msg = "palette chunk: index plane: " + msg.substr(14);
    return format_error(std::move(msg));
  }
  for (uint32_t g = 0, at = lay.values_offset; g < lay.groups; ++g) {
    const uint32_t first = g * kGroupElements;
    const uint32_t count = m - first < kGroupElements ? m - first : kGroupElements;
    uint8_t* out = dst.data() + size_t(first) * e;
    switch (e) {
      case 2: map_group<2>(idx + first, s + at, out, count); break;
      case 4: map_group<4>(idx + first, s + at, out, count); break;
      default: map_group<8>(idx + first, s + at, out, count); break;
    }
    at += load_u16(s + lay.counts_offset + 2 * g) * e;
  }
  if (lay.tail_size) std::memcpy(dst.data() + size_t(m) * e, s + lay.tail_offset, lay.tail_size);
  return {};
}

}  // namespace vramsnap::codec::palette
