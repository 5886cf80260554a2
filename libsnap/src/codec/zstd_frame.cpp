// zstd frame checks, compression and decompression. The decoder treats
// `stored` as hostile: the frame header is checked against the size the
// caller expects before anything is decompressed, and decompression goes
// only into a buffer of exactly that size.
#include "codec/zstd_frame.h"

#include <string>

#include "format/layout.h"

namespace vramsnap::codec {

// The window is checked here because one-shot ZSTD_decompressDCtx ignores
// ZSTD_d_windowLogMax (it only bounds streaming decoders).
Status check_frame(std::span<const uint8_t> stored, size_t expected) {
  if (stored.size() < 5) {
    return format_error("zstd chunk is " + std::to_string(stored.size()) + " bytes, too short for a frame");
  }
  const uint32_t magic = format::load_u32(stored.data());
  if ((magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START) {
    return format_error("zstd chunk starts with a skippable frame");
  }
  if (magic != ZSTD_MAGICNUMBER) {  // also refuses legacy (pre-v0.8) frames
    return format_error("zstd chunk has no zstd frame magic");
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return format_error("zstd chunk has a corrupt frame header");
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return format_error("zstd chunk does not declare its content size");
  if (declared != expected) {
    return format_error("zstd chunk declares " + std::to_string(declared) + " bytes, expected " +
                        std::to_string(expected));
  }
  // Frame header descriptor: bit 5 single-segment (window = content size,
  // already bounded above); otherwise a window descriptor byte follows.
  const uint8_t fhd = stored[4];
  if (!(fhd & 0x20)) {
    if (stored.size() < 6) return format_error("zstd chunk has a truncated frame header");
    const uint8_t wd = stored[5];
    const unsigned log = 10 + (wd >> 3);
    const uint64_t base = uint64_t(1) << log;
    const uint64_t window = base + (base / 8) * (wd & 7);
    if (window > (uint64_t(1) << kWindowLogMax)) {
      return format_error("zstd chunk needs a " + std::to_string(window) + "-byte window, above the 2^" +
                          std::to_string(kWindowLogMax) + " limit");
    }
  }
  const size_t frame = ZSTD_findFrameCompressedSize(stored.data(), stored.size());
  if (ZSTD_isError(frame)) {
    return format_error(std::string("zstd chunk frame is truncated or corrupt: ") + ZSTD_getErrorName(frame));
  }
  if (frame != stored.size()) {
    return format_error("zstd chunk has " + std::to_string(stored.size() - frame) +
                        " bytes after its frame");
  }
  return {};
}

Result<std::span<const uint8_t>> compress_frame(Workspace& ws, const uint8_t* src, size_t n, int level) {
  const size_t bound = ZSTD_compressBound(n);
  uint8_t* dst = ws.out.reserve(bound);
  if (!dst) return out_of_memory(bound);
  if (!ws.cctx) {
    ws.cctx = ZSTD_createCCtx();
    if (!ws.cctx) return make_error(ErrorKind::Limit, "out of memory creating a zstd context");
    // Chunks are hashed with SHA-256, so zstd's own checksum would be redundant;
    // the content size lets the decoder check it before decompressing.
    ZSTD_CCtx_setParameter(ws.cctx, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(ws.cctx, ZSTD_c_contentSizeFlag, 1);
  }
  ZSTD_CCtx_setParameter(ws.cctx, ZSTD_c_compressionLevel, level);
  const size_t r = ZSTD_compress2(ws.cctx, dst, bound, src, n);
  if (ZSTD_isError(r)) {
    // Cannot happen with a compressBound-sized output; reported, not asserted.
    return make_error(ErrorKind::Resource, std::string("zstd compression failed: ") + ZSTD_getErrorName(r));
  }
  return std::span<const uint8_t>(dst, r);
}

Status inflate_frame(Workspace& ws, std::span<const uint8_t> stored, uint8_t* dst, size_t n) {
  if (!ws.dctx) {
    ws.dctx = ZSTD_createDCtx();
    if (!ws.dctx) return make_error(ErrorKind::Limit, "out of memory creating a zstd context");
    ZSTD_DCtx_setParameter(ws.dctx, ZSTD_d_windowLogMax, kWindowLogMax);
  }
  uint8_t dummy = 0;  // zstd wants a valid pointer even for 0 bytes
  const size_t r = ZSTD_decompressDCtx(ws.dctx, n ? dst : &dummy, n, stored.data(), stored.size());
  if (ZSTD_isError(r)) return format_error(std::string("zstd chunk is corrupt: ") + ZSTD_getErrorName(r));
  if (r != n) {
    return format_error("zstd chunk decoded to " + std::to_string(r) + " bytes, expected " + std::to_string(n));
  }
  return {};
}

}  // namespace vramsnap::codec
