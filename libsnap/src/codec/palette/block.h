#pragma once
// The palette codec's per-thread work on the GPU (formats/snapshot-v1.md
// 6.5), one __host__ __device__ definition that the planes batch phases
// (codec/planes/batch.h) call for palette jobs and the host tests run: one
// thread checks a group's value table and builds its code table, and one
// thread per block decodes its indices in place and maps them to values.
#include <stdint.h>

#include "codec/palette/layout.h"
#include "codec/planes/block.h"

namespace vramsnap::codec::palette {

// Checks 4 and 5 for group g (values sorted, index code complete and below
// the table size), builds its decode table and says where its values are.
PLANES_HD inline Fault prepare_group(const uint8_t* s, const Layout& lay, uint32_t g, uint16_t* table,
                                     uint32_t* value_at) {
  const uint32_t count = load_u16(s + lay.counts_offset + 2 * g);
  const uint32_t at = values_at(s, lay, g);
  if (Fault f = check_values(s + at, count, lay.elem); f != Fault::None) return f;
  const uint8_t* lengths = s + lay.index.offset + uint64_t(g) * kLengthsSize;
  if (Fault f = check_index_code(lengths, count); f != Fault::None) return f;
  *value_at = at;
  return planes::build_table(lengths, table);
}

// Block j (check 6 and 7): its indices are decoded into byte 0 of each of
// its elements in dst, then each element is replaced by its value. The
// table and values are those of the block's group, already prepared.
PLANES_HD inline Fault decode_block(const uint8_t* s, uint64_t stored_size, uint8_t* dst, const Layout& lay, uint32_t j,
                                    const uint16_t* table, uint32_t value_at) {
  const planes::Plane& pl = lay.index;
  uint32_t begin, end;
  if (Fault f = planes::block_extent(s + pl.ends_offset, j, pl.blocks, pl.stream_size, &begin, &end); f != Fault::None)
    return f;
  const uint32_t first = j * planes::kBlockSymbols;
  const uint32_t count = lay.elements - first < planes::kBlockSymbols ? lay.elements - first : planes::kBlockSymbols;
  uint8_t* out = dst + uint64_t(first) * lay.elem;
  const Fault f = planes::decode_block(table, s + pl.stream_offset, stored_size - pl.stream_offset, begin, end, out,
                                       lay.elem, count);
  if (f != Fault::None) return f;
  apply_palette(out, count, lay.elem, s + value_at);
  return Fault::None;
}

}  // namespace vramsnap::codec::palette
