#pragma once
// Pinned staging for host-to-device copies: one bounded pool per target GPU,
// sized by an option rather than by threads x chunk size, so a restore with
// hundreds of threads or 256 MiB chunks still pins a fixed, small amount of
// memory. A chunk larger than one buffer is copied as several pieces.
#include <cstdint>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"

namespace vramsnap::backend {

inline constexpr uint32_t kDefaultStagingBuffers = 8;
inline constexpr uint64_t kDefaultStagingBufferBytes = 16ull << 20;  // large enough for full-rate PCIe copies
inline constexpr uint32_t kMaxStagingBuffers = 256;
inline constexpr uint64_t kMinStagingBufferBytes = 64ull << 10;
inline constexpr uint64_t kMaxStagingBufferBytes = 1ull << 30;
inline constexpr uint64_t kMaxStagingTotalBytes = 16ull << 30;

struct StagingOptions {
  uint32_t buffers = 0;       // 0: kDefaultStagingBuffers
  uint64_t buffer_bytes = 0;  // 0: kDefaultStagingBufferBytes
};

struct StagingPlan {
  uint32_t buffers = 0;
  uint64_t buffer_bytes = 0;
  uint64_t total_bytes() const { return buffers * buffer_bytes; }
};

// "COUNTxSIZE" ("8x16MiB", "12x4194304"); sizes as everywhere else (KiB,
// MiB, GiB suffixes). Usage error for anything else or out of range.
Result<StagingOptions> parse_staging(const std::string& text);

// Applies defaults and limits (Usage error when an explicit value is out of
// range). Buffers shrink to the largest chunk, rounded up to 4 KiB, when every
// chunk is smaller: nothing is pinned that no copy can use.
Result<StagingPlan> plan_staging(const StagingOptions& opt, uint64_t largest_chunk);

struct PieceCopy {
  uint64_t src_offset = 0;  // inside the chunk
  uint64_t dst_offset = 0;  // inside the destination region
  uint64_t size = 0;
};

// Splits a chunk of `size` bytes bound for `dst_offset` into copies of at
// most `piece_bytes` (> 0), in order; an empty chunk gives no pieces.
std::vector<PieceCopy> split_into_pieces(uint64_t dst_offset, uint64_t size, uint64_t piece_bytes);

}  // namespace vramsnap::backend
