// Capture, step 1: validation and chunk planning.
#include "pipeline/capture_plan.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "backend/device_source.h"
#include "codec/registry.h"
#include "core/checked_math.h"
#include "format/layout.h"
#include "format/manifest.h"

namespace vramsnap::pipeline {
namespace {

Status validate_inputs(const std::vector<RegionInput>& regions, const CaptureOptions& opt) {
  if (opt.chunk_size < format::kMinChunkSize || opt.chunk_size > format::kMaxChunkRawSize)
    return Error(ErrorKind::Usage, fmt::format("chunk size {} is outside {} .. {} bytes", opt.chunk_size,
                                               format::kMinChunkSize, format::kMaxChunkRawSize));
  if (opt.level < -7 || opt.level > 19) return Error(ErrorKind::Usage, fmt::format("zstd level {} is outside -7 .. 19", opt.level));
  if (opt.codec != CodecChoice::Auto) {
    const int id = static_cast<int>(opt.codec);
    const codec::CodecEntry* c = id >= 0 && id <= 255 ? codec::find_codec(static_cast<uint8_t>(id)) : nullptr;
    if (!c || !c->choosable)
      return Error(ErrorKind::Usage, fmt::format("codec choice {} names no codec a writer can use", id));
  }
  if (regions.size() > format::kMaxRegionCount)
    return Error(ErrorKind::Limit, fmt::format("{} regions exceeds the cap of {}", regions.size(), format::kMaxRegionCount));
  std::unordered_set<std::string_view> names;
  for (const auto& r : regions) {
    auto st = format::validate_region(r.meta());
    if (!st.ok()) {
      auto kind = st.error().kind() == ErrorKind::Limit ? ErrorKind::Limit : ErrorKind::Usage;
      return Error(kind, st.error().message());
    }
    if (!names.insert(r.meta().name).second)
      return Error(ErrorKind::Usage, fmt::format("region name \"{}\" is used twice; region names must be unique", r.meta().name));
    if (r.source() == RegionInput::Source::Host && r.meta().size && !r.pointer())
      return Error(ErrorKind::Usage, fmt::format("region \"{}\": null host pointer", r.meta().name));
  }
  return format::validate_labels(opt.labels, "snapshot labels");
}

// Gathers consecutive small regions into packed chunks (spec 5.5 and 13.1):
// a run ends at a region that is not small, at an empty region, when the
// chunk is full, and where the element size changes once the chunk holds
// 4 KiB (shuffle counts elements from the chunk's start, so one size per
// chunk compresses best; below 4 KiB the padding a new chunk costs matters
// more). A run of one region becomes an ordinary chunk.
class Packer {
 public:
  Packer(const CaptureOptions& opt, std::vector<ChunkJob>& jobs)
      : limit_(std::min(opt.pack_below.value_or(opt.chunk_hash == ChunkHash::LeafSha256 ? kDefaultPackBelow : 0),
                        opt.chunk_size)),
        chunk_(opt.chunk_size),
        jobs_(jobs) {}
  bool small(uint64_t size) const { return size > 0 && size < limit_; }
  void add(uint32_t r, uint64_t size, unsigned elem) {
    if (count_ && (bytes_ + size > chunk_ || (elem != elem_ && bytes_ >= kMixBelow))) flush();
    if (!count_) { first_ = r; elem_ = elem; }
    ++count_;
    bytes_ += size;
  }
  void flush() {
    if (count_) jobs_.push_back({first_, 0, bytes_, count_ > 1 ? count_ : 0});
    count_ = 0;
    bytes_ = 0;
  }

 private:
  static constexpr uint64_t kMixBelow = 4096;
  static constexpr uint64_t kDefaultPackBelow = 64ull << 10;
  uint64_t limit_, chunk_;
  std::vector<ChunkJob>& jobs_;
  uint32_t first_ = 0, count_ = 0;
  uint64_t bytes_ = 0;
  unsigned elem_ = 0;
};

}  // namespace

Result<CapturePlan> plan_capture(const std::vector<RegionInput>& regions, const CaptureOptions& opt) {
  VRAMSNAP_TRY(validate_inputs(regions, opt));
  CapturePlan plan;
  Packer packer(opt, plan.jobs);
  for (uint32_t r = 0; r < regions.size(); ++r) {
    const auto& in = regions[r];
    const uint64_t size = in.meta().size;
    if (in.source() == RegionInput::Source::File && !plan.files.count(in.path())) {
      auto f = io::InputFile::open(in.path());
      if (!f.ok()) return std::move(f).error();
      plan.files.emplace(in.path(), std::move(f).value());
    }
    if (in.source() == RegionInput::Source::File) {
      const auto& f = plan.files.at(in.path());
      auto end = core::checked_add(in.offset(), size);
      if (!end || *end > f.size())
        return Error(ErrorKind::IO, fmt::format("{}: region \"{}\" needs bytes up to {} but the file has {}", in.path(),
                                                in.meta().name, end.value_or(UINT64_MAX), f.size()));
      f.advise_sequential();
    }
    if (in.source() == RegionInput::Source::Device) plan.any_device = true;
    plan.bytes_total += size;
    if (packer.small(size)) {
      packer.add(r, size, dtype_size(in.meta().dtype));
      continue;
    }
    packer.flush();
    for (uint64_t off = 0; off < size; off += opt.chunk_size) {
      plan.jobs.push_back({r, off, std::min<uint64_t>(opt.chunk_size, size - off)});
      if (plan.jobs.size() > format::kMaxChunkCount)
        return Error(ErrorKind::Limit, fmt::format("snapshot would have more than {} chunks; use a larger chunk size",
                                                   format::kMaxChunkCount));
    }
  }
  packer.flush();
  if (plan.any_device) VRAMSNAP_TRY(backend::require_gpu());
  return plan;
}

}  // namespace vramsnap::pipeline
