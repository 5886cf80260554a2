#pragma once
// The extract sink: each region becomes DIR/<encoded name>, written through
// an io::StagingDir, so the files appear in DIR only after every chunk has
// been verified, never replace anything, and vanish on failure or interrupt.
#include <string>
#include <vector>

#include "io/staging_dir.h"
#include "pipeline/staged_sink.h"

namespace vramsnap::pipeline {

class ExtractSink final : public StagedSink<io::StagingDir> {
 public:
  ExtractSink(const SnapshotData& s, const std::vector<size_t>& regions, std::string dir);
  Status prepare(unsigned workers, PhaseTimes& times) override;

 private:
  const std::vector<size_t>& regions_;
};

}  // namespace vramsnap::pipeline
