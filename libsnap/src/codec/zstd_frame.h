#pragma once
// zstd frames as the zstd and shuffle codecs store them: one frame per chunk,
// content size declared, no checksum (formats/snapshot-v1.md 6.1).
#include <cstddef>
#include <cstdint>
#include <span>

#include "codec/workspace.h"

namespace vramsnap::codec {

inline constexpr int kWindowLogMax = 28;  // no legitimate chunk (<= 256 MiB) needs more

// Checks that `stored` is exactly one zstd frame that declares `expected`
// bytes of content and a window of at most 2^kWindowLogMax, before anything
// is decompressed.
Status check_frame(std::span<const uint8_t> stored, size_t expected);

// Compresses n bytes at src into ws.out at `level`; returns the frame.
Result<std::span<const uint8_t>> compress_frame(Workspace& ws, const uint8_t* src, size_t n, int level);

// Decompresses a frame that passed check_frame(stored, n) into exactly n
// bytes at dst; zstd never writes past dst + n.
Status inflate_frame(Workspace& ws, std::span<const uint8_t> stored, uint8_t* dst, size_t n);

}  // namespace vramsnap::codec
