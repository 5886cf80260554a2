// Codec 2, zstd: one zstd frame holding the chunk (formats/snapshot-v1.md 6.1).
#include "codec/entries.h"
#include "codec/zstd_frame.h"

namespace vramsnap::codec {
namespace {

Result<std::span<const uint8_t>> encode_zstd(Workspace& ws, std::span<const uint8_t> raw, unsigned, int level) {
  return compress_frame(ws, raw.data(), raw.size(), level);
}

Status decode_zstd(Workspace* ws, unsigned, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  if (!ws) return out_of_memory(sizeof(Workspace));
  VRAMSNAP_TRY(check_frame(stored, dst.size()));
  return inflate_frame(*ws, stored, dst.data(), dst.size());
}

}  // namespace

const CodecEntry kZstdCodec = {
    .id = Codec::Zstd,
    .name = "zstd",
    .stored = StoredBytes::Compressed,
    .elem_size_ok = nullptr,
    .elem_sizes = nullptr,
    .choosable = true,
    .fallback = Codec::Zstd,
    .auto_rank = 2,
    .encode = encode_zstd,
    .decode = decode_zstd,
};

}  // namespace vramsnap::codec
