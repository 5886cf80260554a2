#pragma once
// The extract sink: each region becomes DIR/<encoded name>, written through
// an io::StagingDir, so the files appear in DIR only after every chunk has
// been verified, never replace anything, and vanish on failure or interrupt.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/snapshot_data.h"
#include "io/staging_dir.h"
#include "pipeline/sink.h"

namespace vramsnap::pipeline {

class ExtractSink final : public Sink {
 public:
  ExtractSink(const SnapshotData& s, const std::vector<size_t>& regions, std::string dir);
  Status prepare(unsigned workers, PhaseTimes& times) override;
  Result<std::span<uint8_t>> acquire(unsigned worker, size_t chunk, WorkerClock& clock) override;
  Status commit(unsigned worker, size_t chunk, std::span<uint8_t> bytes, WorkerClock& clock) override;
  Status commit_zero(unsigned worker, size_t chunk, WorkerClock& clock) override;
  Status place_region(unsigned worker, size_t region, std::span<const uint8_t> bytes, WorkerClock& clock) override;
  Status finish(PhaseTimes& times) override;
  // The files written; complete after a successful finish().
  std::vector<ExtractedFile> take_files() { return std::move(files_); }

 private:
  const SnapshotData& s_;
  const std::vector<size_t>& regions_;
  std::string dir_;
  std::optional<io::StagingDir> stage_;
  Status chunk_done(size_t region);
  std::vector<size_t> file_of_;  // region -> staging file index
  std::unique_ptr<std::atomic<size_t>[]> left_;  // region -> chunks still to write
  std::vector<std::vector<uint8_t>> scratch_;
  std::vector<ExtractedFile> files_;
};

}  // namespace vramsnap::pipeline
