// Codec 1, raw: the stored bytes are the chunk (formats/snapshot-v1.md 6).
// Also what a writer stores when compression would not pay.
#include <cstring>
#include <string>

#include "codec/entries.h"
#include "codec/workspace.h"

namespace vramsnap::codec {
namespace {

Result<std::span<const uint8_t>> encode_raw(Workspace&, std::span<const uint8_t> raw, unsigned, int) {
  return raw;
}

Status decode_raw(Workspace*, unsigned, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  if (stored.size() != dst.size()) {
    return format_error("raw chunk stores " + std::to_string(stored.size()) + " bytes, expected " +
                        std::to_string(dst.size()));
  }
  // memmove: a caller may decode in place.
  if (!dst.empty()) std::memmove(dst.data(), stored.data(), dst.size());
  return {};
}

}  // namespace

const CodecEntry kRawCodec = {
    .id = Codec::Raw,
    .name = "raw",
    .stored = StoredBytes::Verbatim,
    .elem_size_ok = nullptr,
    .elem_sizes = nullptr,
    .choosable = true,
    .fallback = Codec::Raw,
    .auto_rank = 0,
    .encode = encode_raw,
    .decode = decode_raw,
};

}  // namespace vramsnap::codec
