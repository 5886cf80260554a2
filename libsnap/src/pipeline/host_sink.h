#pragma once
// The host-memory sink: chunks decode straight into region buffers (the
// caller's from host_allocator, or slices of one block this restore
// allocates within the host-memory budget): no staging copy, and one
// allocation however many regions there are.
#include <string>
#include <vector>

#include "format/snapshot_data.h"
#include "pipeline/sink.h"

namespace vramsnap::pipeline {

// RestoreOptions::max_host_bytes as a running total: every target charges
// the host buffers it allocates for regions here, so a file that declares
// more than it holds fails with a Limit error before memory runs out.
class HostBudget {
 public:
  explicit HostBudget(const RestoreOptions& opt);
  Status charge(const SnapshotData& s, const RegionMeta& meta, uint64_t bytes);

 private:
  uint64_t limit_ = 0;
  uint64_t used_ = 0;
  std::string source_;
};

class HostSink final : public Sink {
 public:
  // own_buffers: every region its own allocation, for callers that hand
  // regions over one by one (the streaming handover), instead of one block.
  HostSink(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt,
           Restored::State& out, bool own_buffers = false);
  Status prepare(unsigned workers, PhaseTimes& times) override;
  Result<std::span<uint8_t>> acquire(unsigned worker, size_t chunk, WorkerClock& clock) override;
  Status commit(unsigned, size_t, std::span<uint8_t>, WorkerClock&) override { return {}; }
  Status place_region(unsigned worker, size_t region, std::span<const uint8_t> bytes, WorkerClock& clock) override;
  void will_place(unsigned worker, size_t first, size_t last, WorkerClock& clock) override;
  std::span<uint8_t> packed_destination(unsigned worker, size_t chunk, WorkerClock& clock) override;
  Status finish(PhaseTimes&) override { return {}; }

 private:
  const SnapshotData& s_;
  const std::vector<size_t>& regions_;
  const RestoreOptions& opt_;
  Restored::State& out_;
  std::vector<uint8_t*> base_;
  std::vector<bool> fresh_;  // allocated here: pages not yet touched
  bool own_buffers_ = false;
};

}  // namespace vramsnap::pipeline
