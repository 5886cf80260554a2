#pragma once
// The extract sink: each region becomes DIR/<encoded name>. Files are staged
// in a private directory DIR/.vramsnap-extract-XXXXXX (created and registered
// for interrupt cleanup with signals blocked), each created with
// O_EXCL|O_NOFOLLOW; only after every chunk has been verified are they
// renamed into DIR, never replacing anything. On failure or interrupt the
// staging directory and everything in it is removed.
#include <string>
#include <vector>

#include "format/snapshot_data.h"
#include "pipeline/sink.h"

namespace vramsnap::pipeline {

class ExtractSink final : public Sink {
 public:
  ExtractSink(const SnapshotData& s, const std::vector<size_t>& regions, std::string dir);
  ~ExtractSink() override;
  Status prepare(unsigned workers, PhaseTimes& times) override;
  Result<std::span<uint8_t>> acquire(unsigned worker, size_t chunk, WorkerClock& clock) override;
  Status commit(unsigned worker, size_t chunk, std::span<uint8_t> bytes, WorkerClock& clock) override;
  Status commit_zero(unsigned, size_t, WorkerClock&) override { return {}; }  // ftruncate left a hole of zeros
  Status finish(PhaseTimes& times) override;
  // The files written; complete after a successful finish().
  std::vector<ExtractedFile> take_files() { return std::move(files_); }

 private:
  const SnapshotData& s_;
  const std::vector<size_t>& regions_;
  std::string dir_, stage_;
  int dirfd_ = -1, stagefd_ = -1, slot_ = -1;
  std::vector<int> fds_;
  std::vector<std::string> names_, moved_;
  std::vector<std::vector<uint8_t>> scratch_;
  std::vector<ExtractedFile> files_;
};

}  // namespace vramsnap::pipeline
