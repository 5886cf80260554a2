#pragma once
// What the extract and tree sinks share: both write each selected region
// into one staged file (an io::StagingDir or io::TreeStage) through a private
// scratch buffer per worker, close a file as soon as its last chunk is in (so
// thousands of files never hold thousands of descriptors), leave zero chunks
// as holes of the sparse file, and make every file visible at once in
// finish(). The sinks differ only in how prepare() names and creates files.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/snapshot_data.h"
#include "pipeline/sink.h"

namespace vramsnap::pipeline {

template <class Stage>
class StagedSink : public Sink {
 public:
  Result<std::span<uint8_t>> acquire(unsigned w, size_t i, WorkerClock&) override {
    auto& b = scratch_[w];
    if (b.size() < s_.chunks[i].raw_size) b.resize(s_.chunks[i].raw_size);
    return std::span<uint8_t>(b.data(), s_.chunks[i].raw_size);
  }
  Status commit(unsigned, size_t i, std::span<uint8_t> bytes, WorkerClock& clk) override {
    const auto& c = s_.chunks[i];
    PhaseTimer t(clk.copy_ns);
    VRAMSNAP_TRY(stage_->write_at(file_of_[c.region], bytes, c.region_offset));
    return chunk_done(c.region);
  }
  // The file was sized sparse: a zero chunk is a hole, never written.
  Status commit_zero(unsigned, size_t i, WorkerClock&) override { return chunk_done(s_.chunks[i].region); }
  Status place_region(unsigned, size_t r, std::span<const uint8_t> bytes, WorkerClock& clk) override {
    PhaseTimer t(clk.copy_ns);
    VRAMSNAP_TRY(stage_->write_at(file_of_[r], bytes, 0));
    return chunk_done(r);
  }
  Status finish(PhaseTimes& times) override {
    const uint64_t t0 = now_ns();
    VRAMSNAP_TRY(stage_->commit());
    for (const auto& [r, path] : paths_) files_.push_back({s_.regions[r].name, dir_ + "/" + path, s_.regions[r].size});
    times.copy += seconds_since(t0);
    return {};
  }
  // The files written; complete after a successful finish().
  std::vector<ExtractedFile> take_files() { return std::move(files_); }

 protected:
  StagedSink(const SnapshotData& s, std::string dir)
      : s_(s), dir_(std::move(dir)), file_of_(s.regions.size(), SIZE_MAX),
        left_(new std::atomic<size_t>[s.regions.size()]) {}
  // Region r's file, `path` inside DIR, is staged as file index `file`.
  void staged(size_t r, std::string path, size_t file) {
    file_of_[r] = file;
    left_[r].store(s_.region_ranges[r].second - s_.region_ranges[r].first);
    paths_.emplace_back(r, std::move(path));
  }

  const SnapshotData& s_;
  std::string dir_;
  std::optional<Stage> stage_;
  std::vector<std::vector<uint8_t>> scratch_;  // worker -> chunk buffer

 private:
  // The region's last chunk is in: its file is complete and need not stay open.
  Status chunk_done(size_t r) {
    if (left_[r].fetch_sub(1) == 1) return stage_->close_file(file_of_[r]);
    return {};
  }
  std::vector<size_t> file_of_;  // region -> staged file index
  std::unique_ptr<std::atomic<size_t>[]> left_;  // region -> chunks still to write
  std::vector<std::pair<size_t, std::string>> paths_;  // region, path inside DIR
  std::vector<ExtractedFile> files_;
};

}  // namespace vramsnap::pipeline
