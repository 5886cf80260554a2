// Streaming handover (vramsnap/stream.hpp). The restore runs on a thread of
// its own while the calling thread hands regions over in the caller's order.
// Each region counts its outstanding chunks with an atomic; the worker that
// places a region's last chunk marks it complete under a lock taken once per
// region, never per chunk.
#include "vramsnap/stream.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "pipeline/engine.h"
#include "pipeline/host_sink.h"
#include "pipeline/restore_run.h"

namespace vramsnap {
namespace pipeline {
namespace {

// The caller's names first, then the other selected regions in file order.
Result<std::vector<size_t>> delivery_order(const SnapshotData& s, const std::vector<size_t>& selected,
                                           const std::vector<std::string>& names) {
  std::vector<int> state(s.regions.size(), 0);  // 1 selected, 2 placed in the order
  for (size_t r : selected) state[r] = 1;
  std::unordered_map<std::string_view, size_t> by_name;
  for (size_t r : selected) by_name.emplace(s.regions[r].name, r);
  std::vector<size_t> order;
  for (const auto& n : names) {
    auto it = by_name.find(n);
    if (it == by_name.end())
      return Error(ErrorKind::Usage, fmt::format("{}: the delivery order names \"{}\", which is not a region "
                                                 "being restored", s.path, n));
    if (state[it->second] == 2)
      return Error(ErrorKind::Usage, fmt::format("{}: the delivery order names \"{}\" twice", s.path, n));
    state[it->second] = 2;
    order.push_back(it->second);
  }
  for (size_t r : selected)
    if (state[r] == 1) order.push_back(r);
  return order;
}

// Which regions each chunk completes, and how many chunks each region still
// waits for. Built from the region ranges, so a chunk that several regions
// share counts once for each of them and is claimed once.
class RegionTracker {
 public:
  RegionTracker(const SnapshotData& s, const std::vector<size_t>& order)
      : pending_(new std::atomic<uint64_t>[s.regions.size()]), complete_(s.regions.size(), false),
        chunk_regions_(s.chunks.size()) {
    std::vector<bool> claimed(s.chunks.size(), false);
    for (size_t r : order) {
      const auto [first, last] = s.region_ranges[r];
      pending_[r].store(last - first, std::memory_order_relaxed);
      if (first == last) empty_.push_back(r);
      for (size_t i = first; i < last; ++i) {
        chunk_regions_[i].push_back(r);
        if (!claimed[i]) chunks_.push_back(i);
        claimed[i] = true;
      }
    }
  }

  const std::vector<size_t>& chunks() const { return chunks_; }

  // The sink has made the regions' records: regions without chunks are
  // complete from now on.
  void prepared() {
    {
      std::lock_guard lk(mu_);
      for (size_t r : empty_) complete_[r] = true;
    }
    cv_.notify_all();
  }

  // A worker placed chunk i (each chunk exactly once).
  void placed(size_t i) {
    for (size_t r : chunk_regions_[i]) {
      if (pending_[r].fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
      {
        std::lock_guard lk(mu_);
        complete_[r] = true;
      }
      cv_.notify_all();
    }
  }

  void run_ended(bool ok) {
    {
      std::lock_guard lk(mu_);
      ended_ = true;
      failed_ = !ok;
    }
    cv_.notify_all();
  }

  // Waits until region r is complete (true) or the run has ended without
  // completing it, or has failed (false: deliver nothing more).
  bool wait(size_t r) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return complete_[r] || ended_; });
    return complete_[r] && !failed_;
  }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> pending_;
  std::vector<bool> complete_;  // guarded by mu_
  std::vector<std::vector<size_t>> chunk_regions_;
  std::vector<size_t> chunks_;
  std::vector<size_t> empty_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool ended_ = false;
  bool failed_ = false;
};

}  // namespace
}  // namespace pipeline

Result<RestoreStats> restore_stream(const Snapshot& snap, const StreamOptions& opt, const RegionReadyFn& on_region) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = SnapshotAccess::data(snap);
  if (opt.target != Target::Host)
    return Error(ErrorKind::Usage, "the streaming handover restores into host memory; use restore() for a CUDA target");
  if (!on_region) return Error(ErrorKind::Usage, "the streaming handover needs a region callback");
  VRAMSNAP_ASSIGN_OR_RETURN(auto regions, pipeline::select_regions(s, opt.regions));
  VRAMSNAP_ASSIGN_OR_RETURN(auto order, pipeline::delivery_order(s, regions, opt.order));
  auto state = std::make_unique<Restored::State>();
  state->snapshot = SnapshotAccess::shared(snap);
  // Seal first: a bad file never costs an allocation.
  const uint64_t t_seal = pipeline::now_ns();
  VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
  state->stats.phases.seal_check += pipeline::seconds_since(t_seal);

  pipeline::RegionTracker tracker(s, order);
  std::atomic<bool> stop{false};
  pipeline::RunHooks hooks;
  hooks.chunks = tracker.chunks();
  hooks.prepared = [&] { tracker.prepared(); };
  hooks.placed = [&](size_t i) { tracker.placed(i); };
  hooks.stop = &stop;
  pipeline::HostSink sink(s, regions, opt, *state, /*own_buffers=*/true);  // handed over one by one
  Status run_status;
  std::jthread runner([&] {
    run_status = pipeline::run_restore(s, regions, opt, sink, state->stats, &hooks);
    tracker.run_ended(run_status.ok());
  });
  // However this function is left, the restore stops before it is joined.
  struct StopOnExit {
    std::atomic<bool>& stop;
    ~StopOnExit() { stop = true; }
  } stop_on_exit{stop};

  // Hands region r over: its library buffer leaves the restore's keeping.
  // The records and buffers were made by prepare(), which happened before
  // any region could complete.
  std::unordered_map<size_t, const RestoredRegion*> record;
  std::unordered_map<void*, size_t> owned_slot;
  size_t delivered = 0;
  bool stopped = false;
  for (size_t r : order) {
    if (!tracker.wait(r)) break;
    if (record.empty()) {
      for (const auto& rr : state->regions) record.emplace(rr.index, &rr);
      for (size_t k = 0; k < state->host_owned.size(); ++k) owned_slot.emplace(state->host_owned[k], k);
    }
    const RestoredRegion& rr = *record.at(r);
    if (rr.host && !rr.caller_owned) state->host_owned[owned_slot.at(rr.host)] = nullptr;
    ++delivered;
    if (on_region(rr) == Handover::Stop) {
      stopped = true;
      stop = true;
      break;
    }
  }
  runner.join();
  if (stopped)
    return Error(ErrorKind::Interrupted, fmt::format("{}: cancelled by the caller after {} of {} regions were handed "
                                                     "over", s.path, delivered, order.size()));
  if (!run_status.ok()) return std::move(run_status).error();  // state frees what was not handed over
  state->stats.phases.total = pipeline::seconds_since(t0);
  return state->stats;
}

}  // namespace vramsnap
