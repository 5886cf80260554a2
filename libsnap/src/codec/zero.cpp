// Codec 0, zero: a chunk of zero bytes stores nothing (formats/snapshot-v1.md 6).
// A writer picks it by looking at the chunk, never because it was asked to.
#include <cstring>
#include <string>

#include "codec/entries.h"
#include "codec/workspace.h"

namespace vramsnap::codec {
namespace {

Status decode_zero(Workspace*, unsigned, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  if (!stored.empty()) {
    return format_error("zero chunk has " + std::to_string(stored.size()) + " stored bytes, expected 0");
  }
  if (!dst.empty()) std::memset(dst.data(), 0, dst.size());
  return {};
}

}  // namespace

const CodecEntry kZeroCodec = {
    .id = Codec::Zero,
    .name = "zero",
    .stored = StoredBytes::None,
    .elem_size_ok = nullptr,
    .elem_sizes = nullptr,
    .choosable = false,
    .fallback = Codec::Zero,
    .auto_rank = 0,
    .encode = nullptr,
    .decode = decode_zero,
};

}  // namespace vramsnap::codec
