// The extract sink (see extract_sink.h); writing and committing are
// StagedSink's.
#include "pipeline/extract_sink.h"

#include "format/names.h"

namespace vramsnap::pipeline {

ExtractSink::ExtractSink(const SnapshotData& s, const std::vector<size_t>& regions, std::string dir)
    : StagedSink(s, std::move(dir)), regions_(regions) {}

Status ExtractSink::prepare(unsigned threads, PhaseTimes& times) {
  const uint64_t t0 = now_ns();
  VRAMSNAP_ASSIGN_OR_RETURN(auto stage, io::StagingDir::create(dir_, "extract"));
  stage_.emplace(std::move(stage));
  for (size_t r : regions_) VRAMSNAP_TRY(stage_->check_absent(format::extract_file_name(s_.regions[r].name)));
  for (size_t r : regions_) {
    std::string name = format::extract_file_name(s_.regions[r].name);
    VRAMSNAP_ASSIGN_OR_RETURN(const size_t file, stage_->add_file(name, s_.regions[r].size));
    staged(r, std::move(name), file);
  }
  scratch_.resize(threads);
  times.allocate += seconds_since(t0);
  return {};
}

}  // namespace vramsnap::pipeline
