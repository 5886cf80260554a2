// capture(): the snapshot writer, as three steps (capture_plan.cpp: check and
// plan; chunk_writer.cpp: chunk data; file_tail.cpp: table, manifest, seal,
// trailer) plus the summary; and the public region and session types.
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "backend/device_allocation.h"
#include "backend/device_source.h"
#include "codec/registry.h"
#include "io/cleanup.h"
#include "io/file.h"
#include "pipeline/capture_plan.h"
#include "pipeline/chunk_writer.h"
#include "pipeline/file_tail.h"
#include "vramsnap/capture.hpp"

namespace vramsnap {

const char* to_string(ChunkHash h) noexcept { return h == ChunkHash::Sha256 ? "sha256" : "leaf-sha256"; }

std::optional<ChunkHash> parse_chunk_hash(const std::string& s) noexcept {
  if (s == "sha256") return ChunkHash::Sha256;
  if (s == "leaf-sha256") return ChunkHash::LeafSha256;
  return std::nullopt;
}

namespace {

using Clock = std::chrono::steady_clock;

bool cancelled(const CaptureOptions& opt) { return io::interrupted() || (opt.cancel && opt.cancel->load()); }

CaptureSummary summarize(const std::string& path, const pipeline::CapturePlan& plan,
                         const pipeline::WrittenChunks& chunks, pipeline::WrittenTail& tail) {
  CaptureSummary sum;
  sum.path = path;
  sum.id_hex = tail.meta.id_hex;
  sum.file_size = tail.file_size;
  sum.threads = chunks.threads;
  sum.seal = std::move(tail.seal);
  sum.regions.resize(tail.regions.size());
  for (size_t r = 0; r < tail.regions.size(); ++r) {
    sum.regions[r].meta = std::move(tail.regions[r]);
    sum.regions[r].codec_chunks.assign(codec::codec_id_limit(), 0);
  }
  for (const auto& e : chunks.entries) {
    // A packed chunk counts once for each of its regions, its stored bytes
    // shared out by raw size (the last region takes the rounding).
    const uint32_t n = e.packed_regions ? e.packed_regions : 1;
    uint64_t left = e.stored_size;
    for (uint32_t r = e.region; r < e.region + n; ++r) {
      auto& rs = sum.regions[r];
      const uint64_t share = r + 1 == e.region + n ? left
                             : static_cast<uint64_t>(static_cast<double>(e.stored_size) *
                                                     static_cast<double>(rs.meta.size) / static_cast<double>(e.raw_size));
      rs.stored += std::min(share, left);
      left -= std::min(share, left);
      rs.chunks += 1;
      rs.codec_chunks[static_cast<size_t>(e.codec)] += 1;
    }
    sum.stored_total += e.stored_size;
  }
  sum.raw_total = plan.bytes_total;
  return sum;
}

}  // namespace

RegionInput RegionInput::from_file(RegionMeta meta, std::string path, uint64_t offset) {
  RegionInput r;
  r.meta_ = std::move(meta);
  r.source_ = Source::File;
  r.path_ = std::move(path);
  r.offset_ = offset;
  return r;
}

RegionInput RegionInput::from_host(RegionMeta meta, const void* data) {
  RegionInput r;
  r.meta_ = std::move(meta);
  r.source_ = Source::Host;
  r.ptr_ = data;
  return r;
}

RegionInput RegionInput::from_device(RegionMeta meta, const void* device_ptr) {
  RegionInput r;
  r.meta_ = std::move(meta);
  if (!r.meta_.va) r.meta_.va = reinterpret_cast<uint64_t>(device_ptr);
  if (r.meta_.device < 0) r.meta_.device = 0;
  r.source_ = Source::Device;
  r.ptr_ = device_ptr;
  return r;
}

Capture& Capture::add_host(RegionMeta meta, const void* data) {
  regions_.push_back(RegionInput::from_host(std::move(meta), data));
  return *this;
}
Capture& Capture::add_device(RegionMeta meta, const void* device_ptr) {
  regions_.push_back(RegionInput::from_device(std::move(meta), device_ptr));
  return *this;
}
Capture& Capture::add_file(RegionMeta meta, std::string path, uint64_t offset) {
  regions_.push_back(RegionInput::from_file(std::move(meta), std::move(path), offset));
  return *this;
}
Result<CaptureSummary> Capture::write(const std::string& path, const CaptureOptions& options) const {
  return capture(path, regions_, options);
}

SourceInfo describe_source() {
  SourceInfo s;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) s.host = host;
  backend::describe_gpu(s);
  return s;
}

// Device regions carry the allocation that encloses them, so a fixed-VA
// restore can reserve it whole (backend/va_plan.h).
static std::vector<RegionInput> with_allocations(const std::vector<RegionInput>& in) {
  std::vector<RegionInput> out = in;
  for (auto& r : out)
    if (r.source() == RegionInput::Source::Device) backend::record_allocation(r.meta(), r.pointer());
  return out;
}

Result<CaptureSummary> capture(const std::string& out_path, const std::vector<RegionInput>& given,
                               const CaptureOptions& opt) {
  const auto t0 = Clock::now();
  const std::vector<RegionInput> regions = with_allocations(given);
  VRAMSNAP_ASSIGN_OR_RETURN(auto plan, pipeline::plan_capture(regions, opt));
  VRAMSNAP_ASSIGN_OR_RETURN(auto out, io::AtomicOutput::create(out_path, opt.overwrite));
  VRAMSNAP_ASSIGN_OR_RETURN(auto chunks, pipeline::write_chunks(regions, plan, opt, out));
  VRAMSNAP_ASSIGN_OR_RETURN(auto tail,
                            pipeline::write_file_tail(regions, chunks.entries, chunks.features, chunks.data_end,
                                                                plan.any_device, opt, out));
  if (cancelled(opt)) return Error(ErrorKind::Interrupted, "capture cancelled");
  VRAMSNAP_TRY(out.commit());
  CaptureSummary sum = summarize(out_path, plan, chunks, tail);
  sum.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return sum;
}

}  // namespace vramsnap
