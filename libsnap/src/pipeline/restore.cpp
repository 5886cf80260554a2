// Verified restore into host memory, files or (through the backend) CUDA
// devices: chooses the regions and the sink, then drives every selected chunk
// through the stages (pipeline/stages.h) on the chunk engine. The seal is
// checked once, before anything is allocated or created.
#include <cstring>

#include <fmt/format.h>

#include "backend/device_restore.h"
#include "io/aligned_buffer.h"
#include "pipeline/engine.h"
#include "io/fs_query.h"
#include "pipeline/extract_sink.h"
#include "pipeline/host_sink.h"
#include "pipeline/restore_run.h"
#include "pipeline/stages.h"
#include "pipeline/tree_sink.h"

namespace vramsnap {
namespace pipeline {

Status Sink::commit_zero(unsigned worker, size_t chunk, WorkerClock& clock) {
  VRAMSNAP_ASSIGN_OR_RETURN(std::span<uint8_t> dst, acquire(worker, chunk, clock));
  {
    PhaseTimer t(clock.decode_ns);
    std::memset(dst.data(), 0, dst.size());
  }
  return commit(worker, chunk, dst, clock);
}

Result<std::vector<size_t>> select_regions(const SnapshotData& s, const std::vector<std::string>& names) {
  std::vector<size_t> out;
  if (names.empty()) {
    for (size_t r = 0; r < s.regions.size(); ++r) out.push_back(r);
    return out;
  }
  std::vector<bool> taken(s.regions.size(), false);
  for (const auto& n : names) {
    bool found = false;
    for (size_t r = 0; r < s.regions.size(); ++r) {
      if (s.regions[r].name == n) {
        found = true;
        if (!taken[r]) out.push_back(r);
        taken[r] = true;
      }
    }
    if (!found) return Error(ErrorKind::Usage, fmt::format("{}: no region named \"{}\"", s.path, n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status run_restore(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt, Sink& sink,
                   RestoreStats& stats, const RunHooks* hooks) {
  std::vector<size_t> chunks;
  std::vector<bool> selected(s.regions.size(), false);
  for (size_t r : regions) selected[r] = true;
  if (hooks && !hooks->chunks.empty()) {
    chunks = hooks->chunks;
  } else {
    // Regions come in order, so a packed chunk's regions are neighbours here.
    for (size_t r : regions)
      for (size_t i = s.region_ranges[r].first; i < s.region_ranges[r].second; ++i)
        if (chunks.empty() || chunks.back() != i) chunks.push_back(i);
  }
  const unsigned threads = effective_threads(opt.threads, chunks.size());
  stats.threads = threads;
  VRAMSNAP_TRY(sink.prepare(threads, stats.phases));
  if (hooks && hooks->prepared) hooks->prepared();

  struct Worker {
    io::AlignedBuffer stored;  // compressed chunks' stored bytes
    io::AlignedBuffer packed;  // a packed chunk's decoded bytes
    ChunkHasher hasher;
    codec::ChunkDecoder decoder;
  };
  std::vector<Worker> workers(threads);
  auto out_of_memory = [&](size_t i, uint64_t n) {
    return Error(ErrorKind::Limit, format::chunk_context(s, i) + fmt::format(": out of memory for a {}-byte buffer", n));
  };
  // Read, verify and decode into the sink's memory when it holds the regions
  // as the chunk does, else into a buffer of ours and hand each selected
  // region its slice (spec 5.5: region r+j is D[o_j, o_j + size)).
  auto packed = [&](unsigned w, size_t i, WorkerClock& clk) -> Status {
    const auto& c = s.chunks[i];
    Worker& wk = workers[w];
    std::span<uint8_t> dst = sink.packed_destination(w, i, clk);
    const bool in_place = !dst.empty();
    if (!in_place) dst = wk.packed.reserve(c.raw_size);
    if (dst.size() != c.raw_size) return out_of_memory(i, c.raw_size);
    if (c.codec == Codec::Zero) {
      PhaseTimer t(clk.decode_ns);
      std::memset(dst.data(), 0, dst.size());
    } else if (c.codec == Codec::Raw) {
      VRAMSNAP_TRY(read_verified(s, i, dst, wk.hasher, clk));
    } else {
      const auto stored = wk.stored.reserve(c.stored_size);
      if (stored.size() != c.stored_size) return out_of_memory(i, c.stored_size);
      VRAMSNAP_TRY(read_verified(s, i, stored, wk.hasher, clk));
      VRAMSNAP_TRY(decode_chunk(s, i, wk.decoder, stored, dst, clk));
    }
    if (in_place) return {};
    sink.will_place(w, c.region, c.region + c.packed_regions - 1, clk);
    for (size_t r = c.region; r < c.region + c.packed_regions; ++r)
      if (selected[r]) VRAMSNAP_TRY(sink.place_region(w, r, dst.subspan(s.packed_offset[r], s.regions[r].size), clk));
    return {};
  };
  auto place = [&](unsigned w, size_t i, WorkerClock& clk) -> Status {
    const auto& c = s.chunks[i];
    if (c.packed_regions) return packed(w, i, clk);
    if (c.codec == Codec::Zero) return sink.commit_zero(w, i, clk);
    if (sink.verifies(i)) return sink.place_unverified(w, i, clk);
    VRAMSNAP_ASSIGN_OR_RETURN(std::span<uint8_t> dst, sink.acquire(w, i, clk));
    // Raw chunks are read straight into their destination; compressed ones
    // into the worker's buffer, decoded only after the hash has matched.
    Status st;
    if (c.codec == Codec::Raw) {
      st = read_verified(s, i, dst, workers[w].hasher, clk);
    } else {
      const auto stored = workers[w].stored.reserve(c.stored_size);
      if (stored.size() != c.stored_size) st = out_of_memory(i, c.stored_size);
      else st = read_verified(s, i, stored, workers[w].hasher, clk);
      if (st.ok()) st = decode_chunk(s, i, workers[w].decoder, stored, dst, clk);
    }
    if (!st.ok()) {
      sink.abandon(w, i);
      return st;
    }
    return sink.commit(w, i, dst, clk);
  };
  auto fn = [&](unsigned w, size_t i, WorkerClock& clk) -> Status {
    VRAMSNAP_TRY(place(w, i, clk));
    if (hooks && hooks->placed) hooks->placed(i);
    return {};
  };
  size_t failed_at = 0;
  auto st = run_chunks(s, chunks, EngineOptions{threads, opt.progress, opt.cancel, hooks ? hooks->stop : nullptr}, fn,
                       &stats.phases, &failed_at);
  std::optional<ChunkFailure> engine_failed;
  if (!st.ok()) engine_failed = ChunkFailure{failed_at, std::move(st).error()};
  // A failed or cancelled run still lets the sink settle (in-flight copies)
  // before it reports; its own verdicts can only name earlier chunks.
  Status fin = engine_failed ? Status{} : sink.finish(stats.phases);
  if (auto worst = lowest_failure(std::move(engine_failed), sink.deferred_failures())) return std::move(worst->error);
  VRAMSNAP_TRY(std::move(fin));
  for (size_t i : chunks) {
    stats.raw_bytes += s.chunks[i].raw_size;
    stats.stored_bytes += s.chunks[i].stored_size;
  }
  stats.chunks = chunks.size();
  return {};
}

namespace {

// The declared output of an extract against its bound, before anything is
// created: a file that declares terabytes fails in milliseconds.
Status check_output_room(const SnapshotData& s, const std::vector<size_t>& regions, const std::string& dir,
                         const RestoreOptions& opt) {
  if (opt.max_output_bytes == UINT64_MAX) return {};
  uint64_t total = 0;
  for (size_t r : regions) total = s.regions[r].size > UINT64_MAX - total ? UINT64_MAX : total + s.regions[r].size;
  uint64_t limit = opt.max_output_bytes;
  const char* what = "the output limit";
  if (limit == 0) {
    VRAMSNAP_ASSIGN_OR_RETURN(limit, io::available_bytes(dir));
    what = "the space available on its file system";
  }
  if (total > limit)
    return Error(ErrorKind::Limit, fmt::format("{}: the selected regions declare {} bytes of files, more than {} "
                                               "({} bytes) under {}",
                                               s.path, total, what, limit, dir));
  return {};
}

}  // namespace
}  // namespace pipeline

Result<Restored> restore(const Snapshot& snap, const RestoreOptions& opt) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = SnapshotAccess::data(snap);
  VRAMSNAP_ASSIGN_OR_RETURN(auto regions, pipeline::select_regions(s, opt.regions));
  auto state = std::make_unique<Restored::State>();
  state->snapshot = SnapshotAccess::shared(snap);
  // Seal first: a bad file never costs an allocation or a GPU context.
  const uint64_t t_seal = pipeline::now_ns();
  VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
  state->stats.phases.seal_check += pipeline::seconds_since(t_seal);
  std::unique_ptr<pipeline::Sink> sink;
  if (opt.target == Target::Host) {
    sink = std::make_unique<pipeline::HostSink>(s, regions, opt, *state);
  } else {
    VRAMSNAP_ASSIGN_OR_RETURN(sink, backend::make_cuda_sink(s, regions, opt, *state, state->stats.phases));
  }
  auto st = pipeline::run_restore(s, regions, opt, *sink, state->stats);
  sink.reset();
  if (!st.ok()) return std::move(st).error();  // state's destructor frees everything
  state->stats.phases.total = pipeline::seconds_since(t0);
  state->host_blocks = state->host_owned;
  return RestoredAccess::make(std::move(state));
}

Result<std::vector<ExtractedFile>> extract(const Snapshot& snap, const std::string& dir, const RestoreOptions& opt,
                                           RestoreStats* stats) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = SnapshotAccess::data(snap);
  VRAMSNAP_ASSIGN_OR_RETURN(auto regions, pipeline::select_regions(s, opt.regions));
  RestoreStats local;
  RestoreStats& st_out = stats ? *stats : local;
  // Seal first: nothing is created for a file that fails it.
  const uint64_t t_seal = pipeline::now_ns();
  VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
  st_out.phases.seal_check += pipeline::seconds_since(t_seal);
  VRAMSNAP_TRY(pipeline::check_output_room(s, regions, dir, opt));
  pipeline::ExtractSink sink(s, regions, dir);
  VRAMSNAP_TRY(pipeline::run_restore(s, regions, opt, sink, st_out));
  st_out.phases.total = pipeline::seconds_since(t0);
  return sink.take_files();
}

Result<std::vector<ExtractedFile>> extract_tree(const Snapshot& snap, const std::string& dir,
                                                const RestoreOptions& opt, RestoreStats* stats) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = SnapshotAccess::data(snap);
  VRAMSNAP_ASSIGN_OR_RETURN(auto regions, pipeline::select_regions(s, opt.regions));
  RestoreStats local;
  RestoreStats& st_out = stats ? *stats : local;
  const uint64_t t_seal = pipeline::now_ns();
  VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
  st_out.phases.seal_check += pipeline::seconds_since(t_seal);
  VRAMSNAP_ASSIGN_OR_RETURN(auto plan, pipeline::plan_tree(s, regions));
  VRAMSNAP_TRY(pipeline::check_output_room(s, regions, dir, opt));
  pipeline::TreeSink sink(s, std::move(plan), dir);
  VRAMSNAP_TRY(pipeline::run_restore(s, regions, opt, sink, st_out));
  st_out.phases.total = pipeline::seconds_since(t0);
  return sink.take_files();
}

}  // namespace vramsnap
