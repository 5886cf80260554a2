#pragma once
// The tree sink: each region becomes DIR/<region name>, the name read as a
// '/'-separated relative path, with the permission bits of its "mode" label
// (0644 without one). Written through an io::TreeStage: the tree appears in
// DIR only after every chunk has been verified, never replaces anything,
// never leaves DIR, and vanishes on failure or interrupt. A file is open only
// while its chunks are being written.
#include <string>
#include <vector>

#include "format/snapshot_data.h"
#include "io/tree_stage.h"
#include "pipeline/staged_sink.h"

namespace vramsnap::pipeline {

// Each selected region's path and mode, or a Format error naming the first
// region whose name cannot be a path inside DIR (absolute, "." or "..",
// control characters) or a file that another one needs as a directory.
struct TreeEntry {
  size_t region;
  unsigned mode;
};
Result<std::vector<TreeEntry>> plan_tree(const SnapshotData& s, const std::vector<size_t>& regions);

class TreeSink final : public StagedSink<io::TreeStage> {
 public:
  TreeSink(const SnapshotData& s, std::vector<TreeEntry> plan, std::string dir);
  Status prepare(unsigned workers, PhaseTimes& times) override;

 private:
  std::vector<TreeEntry> plan_;
};

}  // namespace vramsnap::pipeline
