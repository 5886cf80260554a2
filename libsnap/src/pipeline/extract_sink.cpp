// The extract sink (see extract_sink.h).
#include "pipeline/extract_sink.h"

#include "format/names.h"

namespace vramsnap::pipeline {

ExtractSink::ExtractSink(const SnapshotData& s, const std::vector<size_t>& regions, std::string dir)
    : s_(s), regions_(regions), dir_(std::move(dir)), file_of_(s.regions.size(), SIZE_MAX),
      left_(new std::atomic<size_t>[s.regions.size()]) {}

Status ExtractSink::prepare(unsigned threads, PhaseTimes& times) {
  const uint64_t t0 = now_ns();
  VRAMSNAP_ASSIGN_OR_RETURN(auto stage, io::StagingDir::create(dir_, "extract"));
  stage_.emplace(std::move(stage));
  for (size_t r : regions_) VRAMSNAP_TRY(stage_->check_absent(format::extract_file_name(s_.regions[r].name)));
  for (size_t r : regions_) {
    VRAMSNAP_ASSIGN_OR_RETURN(file_of_[r],
                              stage_->add_file(format::extract_file_name(s_.regions[r].name), s_.regions[r].size));
    left_[r].store(s_.region_ranges[r].second - s_.region_ranges[r].first);
  }
  scratch_.resize(threads);
  times.allocate += seconds_since(t0);
  return {};
}

Result<std::span<uint8_t>> ExtractSink::acquire(unsigned w, size_t i, WorkerClock&) {
  auto& b = scratch_[w];
  if (b.size() < s_.chunks[i].raw_size) b.resize(s_.chunks[i].raw_size);
  return std::span<uint8_t>(b.data(), s_.chunks[i].raw_size);
}

// The region's last chunk is in: its file is complete and need not stay open.
Status ExtractSink::chunk_done(size_t r) {
  if (left_[r].fetch_sub(1) == 1) return stage_->close_file(file_of_[r]);
  return {};
}

Status ExtractSink::commit(unsigned, size_t i, std::span<uint8_t> bytes, WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  PhaseTimer t(clk.copy_ns);
  VRAMSNAP_TRY(stage_->write_at(file_of_[c.region], bytes, c.region_offset));
  return chunk_done(c.region);
}

// The file was sized sparse: a zero chunk is a hole, never written.
Status ExtractSink::commit_zero(unsigned, size_t i, WorkerClock&) { return chunk_done(s_.chunks[i].region); }

Status ExtractSink::place_region(unsigned, size_t r, std::span<const uint8_t> bytes, WorkerClock& clk) {
  PhaseTimer t(clk.copy_ns);
  VRAMSNAP_TRY(stage_->write_at(file_of_[r], bytes, 0));
  return chunk_done(r);
}

Status ExtractSink::finish(PhaseTimes& times) {
  const uint64_t t0 = now_ns();
  VRAMSNAP_TRY(stage_->commit());
  for (size_t r : regions_)
    files_.push_back({s_.regions[r].name, dir_ + "/" + format::extract_file_name(s_.regions[r].name), s_.regions[r].size});
  times.copy += seconds_since(t0);
  return {};
}

}  // namespace vramsnap::pipeline
