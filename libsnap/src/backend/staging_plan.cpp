#include "backend/staging_plan.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/checked_math.h"
#include "source/sources.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::backend {
namespace {

Error usage(const std::string& what) { return Error(ErrorKind::Usage, "staging: " + what); }

}  // namespace

Result<StagingOptions> parse_staging(const std::string& text) {
  const size_t x = text.find('x');
  if (x == std::string::npos || x == 0 || x + 1 == text.size())
    return usage(fmt::format("\"{}\" is not COUNTxSIZE, e.g. 8x16MiB", text.substr(0, 64)));
  unsigned count = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + x, count);
  if (ec != std::errc() || p != text.data() + x)
    return usage(fmt::format("\"{}\" is not a buffer count", text.substr(0, x).substr(0, 64)));
  auto size = source::parse_size(text.substr(x + 1));
  if (!size) return usage(fmt::format("\"{}\" is not a size", text.substr(x + 1).substr(0, 64)));
  StagingOptions o;
  o.buffers = count;
  o.buffer_bytes = *size;
  if (o.buffers == 0 || o.buffer_bytes == 0) return usage("buffer count and size must be above 0");
  return o;
}

Result<StagingPlan> plan_staging(const StagingOptions& opt, uint64_t largest_chunk) {
  StagingPlan p;
  p.buffers = opt.buffers ? opt.buffers : kDefaultStagingBuffers;
  p.buffer_bytes = opt.buffer_bytes ? opt.buffer_bytes : kDefaultStagingBufferBytes;
  // At least two buffers, so one fills while the other copies.
  if (p.buffers < 2 || p.buffers > kMaxStagingBuffers)
    return usage(fmt::format("{} buffers (2..{})", p.buffers, kMaxStagingBuffers));
  if (p.buffer_bytes < kMinStagingBufferBytes || p.buffer_bytes > kMaxStagingBufferBytes)
    return usage(fmt::format("buffers of {} bytes ({}..{})", p.buffer_bytes, kMinStagingBufferBytes,
                             kMaxStagingBufferBytes));
  if (p.total_bytes() > kMaxStagingTotalBytes)
    return usage(fmt::format("{} x {} bytes is more than {} bytes of pinned memory", p.buffers, p.buffer_bytes,
                             kMaxStagingTotalBytes));
  const uint64_t need = std::max<uint64_t>(core::align_up(largest_chunk, 4096), 4096);
  p.buffer_bytes = std::min(p.buffer_bytes, need);
  return p;
}

std::vector<PieceCopy> split_into_pieces(uint64_t dst_offset, uint64_t size, uint64_t piece_bytes) {
  std::vector<PieceCopy> out;
  if (size == 0 || piece_bytes == 0) return out;
  out.reserve(static_cast<size_t>((size - 1) / piece_bytes + 1));
  for (uint64_t off = 0; off < size; off += piece_bytes)
    out.push_back({off, dst_offset + off, std::min(piece_bytes, size - off)});
  return out;
}

}  // namespace vramsnap::backend

namespace vramsnap {

Result<StagingSpec> parse_staging_spec(std::string_view text) {
  VRAMSNAP_ASSIGN_OR_RETURN(backend::StagingOptions o, backend::parse_staging(std::string(text)));
  return StagingSpec{o.buffers, o.buffer_bytes};
}

}  // namespace vramsnap
