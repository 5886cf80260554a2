#include "pipeline/engine.h"

#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "format/seal.h"
#include "io/cleanup.h"
#include "pipeline/progress.h"

namespace vramsnap::pipeline {

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

double seconds_since(uint64_t start_ns) { return static_cast<double>(now_ns() - start_ns) * 1e-9; }

unsigned effective_threads(unsigned requested, size_t items) {
  unsigned t = requested ? requested : std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(t, items)));
}

Status run_chunks(const SnapshotData& s, const std::vector<size_t>& chunks, const EngineOptions& opt,
                  const ChunkFn& fn, PhaseTimes* times, size_t* failed_chunk) {
  const unsigned threads = effective_threads(opt.threads, chunks.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  size_t err_pos = SIZE_MAX;
  std::optional<Error> err;
  std::vector<WorkerClock> clocks(threads);

  uint64_t total = 0;
  for (size_t c : chunks) total += s.chunks[c].raw_size;
  ProgressThrottle progress(opt.progress, total);

  auto worker = [&](unsigned w) {
    for (;;) {
      // Check before claiming: a claimed chunk is always processed, and claims
      // go in order, so every chunk below a failing one gets checked and the
      // lowest failure is the one reported.
      if (stop.load(std::memory_order_relaxed)) return;
      const size_t pos = next.fetch_add(1);
      if (pos >= chunks.size()) return;
      Status st;
      if (io::interrupted() || (opt.cancel && opt.cancel->load()) || (opt.stop && opt.stop->load()))
        st = Error(ErrorKind::Interrupted, "cancelled");
      else
        st = fn(w, chunks[pos], clocks[w]);
      if (!st.ok()) {
        std::lock_guard lk(mu);
        if (pos < err_pos) {
          err_pos = pos;
          err = std::move(st).error();
        }
        stop = true;
        return;
      }
      progress.add(s.chunks[chunks[pos]].raw_size);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned w = 1; w < threads; ++w) pool.emplace_back(worker, w);
    worker(0);  // the calling thread works too
  }
  if (times) {
    for (const auto& c : clocks) {
      times->read += c.read_ns * 1e-9;
      times->hash += c.hash_ns * 1e-9;
      times->decode += c.decode_ns * 1e-9;
      times->copy += c.copy_ns * 1e-9;
    }
  }
  if (err) {
    if (failed_chunk) *failed_chunk = chunks[err_pos];
    return std::move(*err);
  }
  progress.finish();
  return {};
}

std::optional<ChunkFailure> lowest_failure(std::optional<ChunkFailure> engine_failed,
                                           std::vector<ChunkFailure> deferred) {
  std::optional<ChunkFailure> best = std::move(engine_failed);
  for (auto& f : deferred)
    if (!best || f.chunk < best->chunk) best = std::move(f);
  return best;
}

Status check_snapshot(const SnapshotData& s, const CheckOptions& opt) {
  VRAMSNAP_TRY(format::check_seal(s, format::keys_of(opt.key, opt.trusted_keys), opt.allow_unsealed));
  if (opt.min_generation && s.meta.generation < *opt.min_generation)
    return Error(ErrorKind::Integrity, fmt::format("{}: generation {} is older than the required minimum {} (replayed or "
                                              "stale snapshot)", s.path, s.meta.generation, *opt.min_generation));
  return {};
}

}  // namespace vramsnap::pipeline
