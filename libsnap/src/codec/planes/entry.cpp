// Codec 4, planes: byte planes, the sign/exponent planes Huffman-coded in
// independently decodable blocks (formats/snapshot-v1.md 6.4), so a GPU
// decodes a chunk with one thread per block. Needs feature bit 3.
#include <string>

#include "codec/entries.h"
#include "codec/planes/decode.h"
#include "codec/planes/encode.h"
#include "format/features.h"

namespace vramsnap::codec {
namespace {

bool planes_elem_ok(unsigned elem) { return elem == 2 || elem == 4 || elem == 8; }

Result<std::span<const uint8_t>> encode_planes(Workspace& ws, std::span<const uint8_t> raw, unsigned elem_size, int) {
  return planes::encode(ws, raw, elem_size);
}

Status decode_planes(Workspace* ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  if (!planes_elem_ok(elem_size))
    return format_error("planes chunk has element size " + std::to_string(elem_size) + ", expected 2, 4 or 8");
  if (!ws) return out_of_memory(sizeof(Workspace));
  return planes::decode(*ws, elem_size, stored, dst);
}

}  // namespace

const CodecEntry kPlanesCodec = {
    .id = Codec::Planes,
    .name = "planes",
    .stored = StoredBytes::Compressed,
    .elem_size_ok = planes_elem_ok,
    .elem_sizes = "2, 4 or 8",
    .choosable = true,
    .fallback = Codec::Zstd,
    .auto_rank = 0,
    .encode = encode_planes,
    .decode = decode_planes,
    .feature = format::kFeaturePlanes,
};

}  // namespace vramsnap::codec
