// Batch planning of device-decoded planes chunks (device_decode.h).
#include "backend/device_decode.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "backend/device_verify.h"
#include "codec/planes/decode.h"

namespace vramsnap::backend {

namespace {

uint64_t align_up(uint64_t n) { return (n + kStageAlign - 1) / kStageAlign * kStageAlign; }

}  // namespace

bool decode_on_device(VerifyOn verify_on, bool kernels_built, ChunkHashScheme scheme, const ChunkEntry& c,
                      RegionKind kind) {
  return verify_on != VerifyOn::Host && kernels_built && scheme == ChunkHashScheme::Leaf16k &&
         (c.codec == Codec::Planes || c.codec == Codec::Palette) && !c.packed_regions && kind == RegionKind::Device &&
         c.raw_size > 0 && c.stored_size > 0 && (c.elem_size == 2 || c.elem_size == 4 || c.elem_size == 8);
}

uint64_t staging_area_bytes(const std::vector<uint64_t>& stored_sizes, uint64_t target) {
  uint64_t largest = 0, total = 0;
  for (uint64_t n : stored_sizes) {
    largest = std::max(largest, align_up(n));
    total = std::min(target, total + align_up(n));  // sizes are record-bounded (2^28), so no wrap
  }
  return std::max(largest, total);
}

int64_t DecodeBatch::place(size_t chunk, const ChunkEntry& c, uint64_t dst) {
  const uint64_t need = align_up(c.stored_size);
  const uint64_t leaves = kernels::leaves_of(c.stored_size);
  if (chunks_.size() >= max_chunks_ || need > area_ - used_ || leaves > max_leaves_ - leaves_) return -1;
  const uint64_t at = used_;
  placed_.push_back({at, &c, dst});
  chunks_.push_back(chunk);
  used_ += need;
  leaves_ += leaves;
  return static_cast<int64_t>(at);
}

void DecodeBatch::drop_last() {
  if (placed_.empty()) return;
  used_ = placed_.back().offset;
  leaves_ -= kernels::leaves_of(placed_.back().c->stored_size);
  placed_.pop_back();
  chunks_.pop_back();
}

bool DecodeBatch::ready() const {
  return 2 * used_ >= area_ || 2 * chunks_.size() >= max_chunks_ || 2 * leaves_ >= max_leaves_;
}

DecodeLaunch DecodeBatch::jobs(uint64_t base) const {
  DecodeLaunch l;
  for (const Placed& p : placed_) {
    kernels::ChunkJob v{};
    v.data = reinterpret_cast<const uint8_t*>(base + p.offset);
    v.size = p.c->stored_size;
    v.first_leaf = l.leaves;
    std::memcpy(v.expect, p.c->hash.data(), sizeof v.expect);
    l.verify.push_back(v);
    l.leaves += kernels::leaves_of(p.c->stored_size);
    codec::planes::PlanesJob d{};
    d.stored = reinterpret_cast<const uint8_t*>(base + p.offset);
    d.stored_size = p.c->stored_size;
    d.dst = reinterpret_cast<uint8_t*>(p.dst);
    d.raw_size = p.c->raw_size;
    d.elem_size = p.c->elem_size;
    d.palette = p.c->codec == Codec::Palette;
    l.decode.push_back(d);
  }
  l.slices = codec::planes::assign_slices(l.decode.data(), static_cast<uint32_t>(l.decode.size()));
  return l;
}

void DecodeBatch::clear() {
  placed_.clear();
  chunks_.clear();
  used_ = 0;
  leaves_ = 0;
}

std::vector<pipeline::ChunkFailure> failures_from_decode(const SnapshotData& s, const std::vector<size_t>& slot_chunk,
                                                         const std::vector<uint32_t>& verdicts,
                                                         const std::vector<uint32_t>& status, int gpu) {
  std::vector<pipeline::ChunkFailure> out = failures_from_verdicts(s, slot_chunk, verdicts, gpu);
  for (size_t k = 0; k < slot_chunk.size(); ++k) {
    if (k >= verdicts.size() || verdicts[k] != 1 || k >= status.size() || status[k] == 0) continue;
    const auto f = status[k] <= uint32_t(codec::planes::kLastFault) ? codec::planes::Fault(status[k])
                                                                        : codec::planes::Fault::Stream;
    out.push_back({slot_chunk[k], Error(ErrorKind::Format, format::chunk_context(s, slot_chunk[k]) +
                                                               fmt::format(": {} chunk: {} (decoded on GPU {})",
                                                                           to_string(s.chunks[slot_chunk[k]].codec),
                                                                           codec::planes::fault_text(f), gpu))});
  }
  return out;
}

}  // namespace vramsnap::backend
