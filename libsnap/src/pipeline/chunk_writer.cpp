// Capture, step 2: parallel encode and ordered append of chunk data.
#include "pipeline/chunk_writer.h"

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "backend/device_source.h"
#include "codec/codec.h"
#include "core/checked_math.h"
#include "crypto/digest.h"
#include "crypto/leaf_hash.h"
#include "format/layout.h"
#include "io/cleanup.h"
#include "pipeline/engine.h"
#include "pipeline/progress.h"

namespace vramsnap::pipeline {
namespace {

// A worker's read buffer: pinned when the snapshot has device regions, so
// device-to-host copies run at full PCIe speed while other workers compress.
class StagingBuffer {
 public:
  explicit StagingBuffer(bool want_pinned) : want_pinned_(want_pinned) {}
  ~StagingBuffer() { if (pinned_) backend::free_pinned(pinned_device_, pinned_); }
  StagingBuffer(const StagingBuffer&) = delete;
  StagingBuffer& operator=(const StagingBuffer&) = delete;
  // `device`: the GPU whose region the buffer is for first (pinned memory is
  // allocated portable, so it serves every GPU afterwards).
  uint8_t* get(size_t n, int device = -1) {
    if (want_pinned_ && n > pinned_size_) {
      if (pinned_) backend::free_pinned(pinned_device_, pinned_);
      pinned_device_ = device;
      pinned_ = static_cast<uint8_t*>(backend::alloc_pinned(device, n));
      pinned_size_ = pinned_ ? n : 0;
      if (!pinned_) want_pinned_ = false;
    }
    if (pinned_) return pinned_;
    if (plain_.size() < n) plain_.resize(n);
    return plain_.data();
  }

 private:
  bool want_pinned_;
  uint8_t* pinned_ = nullptr;
  int pinned_device_ = -1;
  size_t pinned_size_ = 0;
  std::vector<uint8_t> plain_;
};

// Shared state of one run over the jobs.
struct Run {
  Run(const std::vector<RegionInput>& r, const CapturePlan& p, const CaptureOptions& o, io::AtomicOutput& f)
      : regions(r), plan(p), opt(o), out(f), progress(o.progress, p.bytes_total), entries(p.jobs.size()) {}
  const std::vector<RegionInput>& regions;
  const CapturePlan& plan;
  const CaptureOptions& opt;
  io::AtomicOutput& out;
  ProgressThrottle progress;
  std::vector<ChunkEntry> entries;
  uint64_t features = 0;  // under mu

  std::atomic<size_t> next_job{0};
  std::mutex mu;
  std::condition_variable turn_cv;
  size_t next_commit = 0;       // guarded by mu
  bool failed = false;          // guarded by mu
  size_t error_job = SIZE_MAX;  // guarded by mu
  std::optional<Error> error;   // guarded by mu
  uint64_t cursor = format::kDataOffset;  // owned by the worker whose turn it is

  void fail(size_t job, Error e) {
    std::lock_guard lk(mu);
    if (job < error_job) {  // report the first failing chunk in file order
      error_job = job;
      error = std::move(e);
    }
    failed = true;
    turn_cv.notify_all();
  }

  bool cancelled() const { return io::interrupted() || (opt.cancel && opt.cancel->load()); }

  // Bytes [offset, offset + size) of region r into buf.
  Status read_into(uint32_t r, uint64_t offset, uint64_t size, uint8_t* buf) {
    const RegionInput& in = regions[r];
    switch (in.source()) {
      case RegionInput::Source::Host:
        std::memcpy(buf, static_cast<const uint8_t*>(in.pointer()) + offset, size);
        return {};
      case RegionInput::Source::File: {
        auto st = plan.files.at(in.path()).read_exact({buf, size}, in.offset() + offset);
        if (!st.ok())
          return Error(ErrorKind::IO, fmt::format("reading region \"{}\" from {}: {} (did the file change during capture?)",
                                                  in.meta().name, in.path(), st.error().message()));
        return {};
      }
      case RegionInput::Source::Device:
        return backend::copy_device_to_host(in.meta().device, static_cast<const uint8_t*>(in.pointer()) + offset, buf,
                                            size);
    }
    return Error(ErrorKind::Usage, "unknown region source");
  }

  Result<std::span<const uint8_t>> read_source(const ChunkJob& j, StagingBuffer& staging) {
    if (j.packed) {  // whole regions, end to end
      uint8_t* buf = staging.get(j.size);
      uint64_t at = 0;
      for (uint32_t r = j.region; r < j.region + j.packed; ++r) {
        const uint64_t size = regions[r].meta().size;
        VRAMSNAP_TRY(read_into(r, 0, size, buf + at));
        at += size;
      }
      return std::span<const uint8_t>(buf, j.size);
    }
    const RegionInput& in = regions[j.region];
    switch (in.source()) {
      case RegionInput::Source::Host:
        return std::span<const uint8_t>(static_cast<const uint8_t*>(in.pointer()) + j.offset, j.size);
      case RegionInput::Source::File: {
        const auto& f = plan.files.at(in.path());
        uint8_t* buf = staging.get(j.size);
        auto st = f.read_exact({buf, j.size}, in.offset() + j.offset);
        if (!st.ok())
          return Error(ErrorKind::IO, fmt::format("reading region \"{}\" from {}: {} (did the file change during capture?)",
                                                  in.meta().name, in.path(), st.error().message()));
        return std::span<const uint8_t>(buf, j.size);
      }
      case RegionInput::Source::Device: {
        uint8_t* buf = staging.get(j.size, in.meta().device);
        VRAMSNAP_TRY(backend::copy_device_to_host(in.meta().device, static_cast<const uint8_t*>(in.pointer()) + j.offset,
                                                  buf, j.size));
        return std::span<const uint8_t>(buf, j.size);
      }
    }
    return Error(ErrorKind::Usage, "unknown region source");
  }

  // The element size the codec may shuffle by: the region's, or in a packed
  // chunk the one all its regions share (0 when they differ).
  unsigned element_size(const ChunkJob& j) const {
    const unsigned e = dtype_size(regions[j.region].meta().dtype);
    for (uint32_t r = j.region + 1; r < j.region + j.packed; ++r)
      if (dtype_size(regions[r].meta().dtype) != e) return 0;
    return e;
  }

  void worker() {
    codec::ChunkEncoder encoder(opt.level);
    StagingBuffer buf(plan.any_device);
    const auto& jobs = plan.jobs;
    for (;;) {
      const size_t ji = next_job.fetch_add(1);
      if (ji >= jobs.size()) return;
      {
        std::lock_guard lk(mu);
        if (failed) return;
      }
      if (cancelled()) { fail(ji, Error(ErrorKind::Interrupted, "capture cancelled")); return; }
      const ChunkJob& j = jobs[ji];
      auto raw = read_source(j, buf);
      if (!raw.ok()) { fail(ji, std::move(raw).error()); return; }
      const auto& meta = regions[j.region].meta();
      // Auto weighs planes for floats only in leaf-hashed files: a file asked
      // to have flat hashes is one for readers older than 1.1, which cannot
      // read planes (1.4) either.
      const bool planes_ok = codec::is_float_dtype(meta.dtype) && opt.chunk_hash == ChunkHash::LeafSha256;
      auto enc = encoder.encode(*raw, opt.codec, element_size(j), planes_ok, meta.dtype);
      if (!enc.ok()) {
        fail(ji, std::move(enc).error().with_context(fmt::format("region \"{}\" at offset {}: ", meta.name, j.offset)));
        return;
      }
      ChunkEntry e;
      e.region = j.region;
      e.codec = enc->codec;
      e.elem_size = enc->elem_size;
      e.region_offset = j.offset;
      e.packed_regions = j.packed;
      e.raw_size = j.size;
      e.stored_size = enc->stored.size();
      // A chunk that stores nothing (zero) keeps the hash of nothing in every
      // scheme (spec 5.3, rule 2).
      e.hash = opt.chunk_hash == ChunkHash::LeafSha256 && !enc->stored.empty() ? crypto::leaf_sha256(enc->stored)
                                                                               : crypto::sha256(enc->stored);

      std::unique_lock lk(mu);
      turn_cv.wait(lk, [&] { return failed || next_commit == ji; });
      if (failed) return;
      lk.unlock();
      if (!enc->stored.empty()) {  // a codec that stores nothing (zero) has no extent
        e.stored_offset = cursor;
        auto st = out.write_at(enc->stored, cursor);
        if (!st.ok()) { fail(ji, std::move(st).error()); return; }
        cursor = core::align_up(cursor + e.stored_size, format::kDataAlign);
      }
      entries[ji] = e;
      lk.lock();
      features |= enc->features;
      ++next_commit;
      turn_cv.notify_all();
      lk.unlock();
      progress.add(j.size);
    }
  }
};

}  // namespace

Result<WrittenChunks> write_chunks(const std::vector<RegionInput>& regions, const CapturePlan& plan,
                                   const CaptureOptions& opt, io::AtomicOutput& out) {
  Run run(regions, plan, opt, out);
  const unsigned threads = effective_threads(opt.threads, plan.jobs.size());
  {
    std::vector<std::jthread> pool;
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&run] { run.worker(); });
  }
  if (run.failed) return std::move(*run.error);
  if (run.cancelled()) return Error(ErrorKind::Interrupted, "capture cancelled");
  run.progress.finish();
  return WrittenChunks{std::move(run.entries), run.cursor, threads, run.features};
}

}  // namespace vramsnap::pipeline
