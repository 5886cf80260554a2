// The host-memory sink (see host_sink.h).
#include "pipeline/host_sink.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/checked_math.h"
#include "io/memory.h"

namespace vramsnap::pipeline {

HostSink::HostSink(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt,
                   Restored::State& out, bool own_buffers)
    : s_(s), regions_(regions), opt_(opt), out_(out), base_(s.regions.size(), nullptr),
      fresh_(s.regions.size(), false), own_buffers_(own_buffers || opt.separate_host_buffers) {}

HostBudget::HostBudget(const RestoreOptions& opt) : limit_(opt.max_host_bytes), source_("the limit given (max_host_bytes)") {
  if (limit_ == 0) {
    limit_ = io::available_host_memory().value_or(UINT64_MAX);
    source_ = "the memory available now";
  }
}

Status HostBudget::charge(const SnapshotData& s, const RegionMeta& meta, uint64_t bytes) {
  const auto total = core::checked_add(used_, bytes);
  if (!total || *total > limit_)
    return Error(ErrorKind::Limit,
                 fmt::format("{}: region \"{}\" needs {} bytes of host memory, {} bytes in all so far, more than "
                             "{} ({} bytes); restore fewer regions or raise the limit",
                             s.path, meta.name, bytes, total ? *total : UINT64_MAX, source_, limit_));
  used_ = *total;
  return {};
}

// Where a region starts in the block: page-aligned when it spans a page (so
// it can be handed to O_DIRECT reads or registered for DMA), else at 64 bytes,
// a cache line and enough for every dtype's vector loads.
uint64_t region_align(uint64_t size) { return size >= 4096 ? 4096 : 64; }

Status HostSink::prepare(unsigned, PhaseTimes& times) {
  const uint64_t t0 = now_ns();
  HostBudget budget(opt_);
  // The caller's buffers first; every other region gets a slice of one block.
  std::vector<uint64_t> offset(s_.regions.size(), UINT64_MAX);
  out_.regions.reserve(regions_.size());
  uint64_t block = 0;
  for (size_t r : regions_) {
    const auto& meta = s_.regions[r];
    RestoredRegion rr;
    rr.index = r;
    rr.meta = &meta;
    if (opt_.host_allocator) {
      rr.host = opt_.host_allocator(meta);
      rr.caller_owned = rr.host != nullptr;
    }
    if (!rr.host && meta.size && own_buffers_) {
      VRAMSNAP_TRY(budget.charge(s_, meta, meta.size));
      if (posix_memalign(&rr.host, 4096, meta.size) != 0 || !rr.host)
        return Error(ErrorKind::Limit, fmt::format("{}: out of host memory allocating {} bytes for region \"{}\"",
                                                   s_.path, meta.size, meta.name));
      out_.host_owned.push_back(rr.host);
      fresh_[r] = true;
    } else if (!rr.host && meta.size) {
      VRAMSNAP_TRY(budget.charge(s_, meta, meta.size));
      const auto at = core::checked_align_up(block, region_align(meta.size));
      const auto end = at ? core::checked_add(*at, meta.size) : std::nullopt;
      if (!end) return Error(ErrorKind::Limit, fmt::format("{}: region \"{}\" is too large", s_.path, meta.name));
      offset[r] = *at;
      block = *end;
    }
    out_.regions.push_back(std::move(rr));
  }
  void* p = nullptr;
  if (block && (posix_memalign(&p, 4096, block) != 0 || !p))
    return Error(ErrorKind::Limit, fmt::format("{}: out of host memory allocating {} bytes for {} regions", s_.path,
                                               block, regions_.size()));
  if (p) out_.host_owned.push_back(p);
  for (auto& rr : out_.regions) {
    if (offset[rr.index] != UINT64_MAX) {
      rr.host = static_cast<uint8_t*>(p) + offset[rr.index];
      fresh_[rr.index] = true;
    }
    base_[rr.index] = static_cast<uint8_t*>(rr.host);
  }
  times.allocate += seconds_since(t0);
  return {};
}

Status HostSink::place_region(unsigned, size_t r, std::span<const uint8_t> bytes, WorkerClock& clk) {
  PhaseTimer t(clk.copy_ns);
  std::memcpy(base_[r], bytes.data(), bytes.size());
  return {};
}

// A packed chunk's regions lie in order in the block, each at most 63 bytes
// after the previous one ends: their pages are faulted in with one call, not
// one fault per page as each small copy lands (the caller's own buffers are
// left alone).
void HostSink::will_place(unsigned, size_t first, size_t last, WorkerClock& clk) {
  size_t a = first, b = last;
  while (a <= b && (!fresh_[a] || !base_[a] || own_buffers_)) ++a;
  while (b > a && (!fresh_[b] || !base_[b])) --b;
  if (a > b || !fresh_[a] || !base_[a] || own_buffers_) return;
  const uint8_t* end = base_[b] + s_.regions[b].size;
  if (end <= base_[a]) return;
  PhaseTimer t(clk.copy_ns);
  io::populate_for_write({base_[a], static_cast<size_t>(end - base_[a])});
}

// Regions of a multiple of 64 bytes (and the last of a chunk, whatever its
// size) follow each other in the block exactly as in the chunk: the chunk
// then decodes in place, with no copy per region.
std::span<uint8_t> HostSink::packed_destination(unsigned, size_t i, WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  uint8_t* const at = base_[c.region];
  if (own_buffers_ || !at) return {};
  for (size_t r = c.region; r < c.region + c.packed_regions; ++r)
    if (!fresh_[r] || base_[r] != at + s_.packed_offset[r]) return {};
  const std::span<uint8_t> dst(at, c.raw_size);
  PhaseTimer t(c.codec == Codec::Raw ? clk.read_ns : clk.decode_ns);
  io::populate_for_write(dst);
  return dst;
}

Result<std::span<uint8_t>> HostSink::acquire(unsigned, size_t i, WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  const std::span<uint8_t> dst(base_[c.region] + c.region_offset, c.raw_size);
  if (fresh_[c.region]) {
    // Charged to the phase whose writes would otherwise take the faults.
    PhaseTimer t(c.codec == Codec::Raw ? clk.read_ns : clk.decode_ns);
    io::populate_for_write(dst);
  }
  return dst;
}

}  // namespace vramsnap::pipeline
