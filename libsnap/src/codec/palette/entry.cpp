// Codec 5, palette: per table group a sorted table of at most 256 element
// values and one index plane in the planes codec's Huffman blocks
// (formats/snapshot-v1.md 6.5). For dequantized weights (each tensor a few
// hundred distinct values), which byte planes cannot see; a GPU decodes it
// with the planes kernel. Needs feature bit 4.
#include <string>

#include "codec/entries.h"
#include "codec/palette/decode.h"
#include "codec/palette/encode.h"
#include "format/features.h"

namespace vramsnap::codec {
namespace {

bool palette_elem_ok(unsigned elem) { return elem == 2 || elem == 4 || elem == 8; }

// An empty result declines the chunk (more than 256 values in a group); the
// encoder then uses the fallback, planes.
Result<std::span<const uint8_t>> encode_palette(Workspace& ws, std::span<const uint8_t> raw, unsigned elem_size,
                                                int) {
  return palette::encode(ws, raw, elem_size);
}

Status decode_palette(Workspace* ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  if (!palette_elem_ok(elem_size))
    return format_error("palette chunk has element size " + std::to_string(elem_size) + ", expected 2, 4 or 8");
  if (!ws) return out_of_memory(sizeof(Workspace));
  return palette::decode(*ws, elem_size, stored, dst);
}

}  // namespace

const CodecEntry kPaletteCodec = {
    .id = Codec::Palette,
    .name = "palette",
    .stored = StoredBytes::Compressed,
    .elem_size_ok = palette_elem_ok,
    .elem_sizes = "2, 4 or 8",
    .choosable = true,
    .fallback = Codec::Planes,
    .auto_rank = 0,
    .encode = encode_palette,
    .decode = decode_palette,
    .feature = format::kFeaturePalette,
};

}  // namespace vramsnap::codec
