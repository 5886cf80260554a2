#pragma once
// The tree sink: each region becomes DIR/<region name>, the name read as a
// '/'-separated relative path, with the permission bits of its "mode" label
// (0644 without one). Written through an io::TreeStage: the tree appears in
// DIR only after every chunk has been verified, never replaces anything,
// never leaves DIR, and vanishes on failure or interrupt. A file is open only
// while its chunks are being written.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/snapshot_data.h"
#include "io/tree_stage.h"
#include "pipeline/sink.h"

namespace vramsnap::pipeline {

// Each selected region's path and mode, or a Format error naming the first
// region whose name cannot be a path inside DIR (absolute, "." or "..",
// control characters) or a file that another one needs as a directory.
struct TreeEntry {
  size_t region;
  unsigned mode;
};
Result<std::vector<TreeEntry>> plan_tree(const SnapshotData& s, const std::vector<size_t>& regions);

class TreeSink final : public Sink {
 public:
  TreeSink(const SnapshotData& s, std::vector<TreeEntry> plan, std::string dir);
  Status prepare(unsigned workers, PhaseTimes& times) override;
  Result<std::span<uint8_t>> acquire(unsigned worker, size_t chunk, WorkerClock& clock) override;
  Status commit(unsigned worker, size_t chunk, std::span<uint8_t> bytes, WorkerClock& clock) override;
  Status commit_zero(unsigned worker, size_t chunk, WorkerClock& clock) override;
  Status place_region(unsigned worker, size_t region, std::span<const uint8_t> bytes, WorkerClock& clock) override;
  Status finish(PhaseTimes& times) override;
  std::vector<ExtractedFile> take_files() { return std::move(files_); }

 private:
  Status chunk_done(size_t region);
  const SnapshotData& s_;
  std::vector<TreeEntry> plan_;
  std::string dir_;
  std::optional<io::TreeStage> stage_;
  std::vector<size_t> file_of_;  // region -> staged file index
  std::unique_ptr<std::atomic<size_t>[]> left_;  // region -> chunks still to write
  std::vector<std::vector<uint8_t>> scratch_;
  std::vector<ExtractedFile> files_;
};

}  // namespace vramsnap::pipeline
