// Parallel streaming snapshot writer.
//
// Workers claim chunks in order, read and encode them independently, then take
// turns (in chunk order) to append their stored bytes to the file. Because
// each worker holds one chunk at a time and turns go in claim order, memory in
// flight is threads x (chunk + encoded chunk) and the file layout is
// deterministic for a given input.
#include <openssl/rand.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "backend/device_source.h"
#include "codec/codec.h"
#include "core/checked_math.h"
#include "core/clock.h"
#include "crypto/digest.h"
#include "format/binary.h"
#include "format/manifest.h"
#include "format/seal.h"
#include "io/cleanup.h"
#include "io/file.h"
#include "vramsnap/capture.hpp"

namespace vramsnap {
namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  uint32_t region;
  uint64_t offset;
  uint64_t size;
};

codec::Choice to_codec_choice(CodecChoice c) {
  switch (c) {
    case CodecChoice::Auto: return codec::Choice::Auto;
    case CodecChoice::Raw: return codec::Choice::Raw;
    case CodecChoice::Zstd: return codec::Choice::Zstd;
    case CodecChoice::Shuffle: return codec::Choice::Shuffle;
  }
  return codec::Choice::Auto;
}

// A worker's read buffer: pinned when the snapshot has device regions, so
// device-to-host copies run at full PCIe speed while other workers compress.
class StagingBuffer {
 public:
  explicit StagingBuffer(bool want_pinned) : want_pinned_(want_pinned) {}
  ~StagingBuffer() { if (pinned_) backend::free_pinned(pinned_); }
  StagingBuffer(const StagingBuffer&) = delete;
  StagingBuffer& operator=(const StagingBuffer&) = delete;
  uint8_t* get(size_t n) {
    if (want_pinned_ && n > pinned_size_) {
      if (pinned_) backend::free_pinned(pinned_);
      pinned_ = static_cast<uint8_t*>(backend::alloc_pinned(n));
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
  size_t pinned_size_ = 0;
  std::vector<uint8_t> plain_;
};

// Shared state of one capture run.
struct Run {
  Run(const std::vector<RegionInput>& r, const CaptureOptions& o) : regions(r), opt(o) {}
  const std::vector<RegionInput>& regions;
  const CaptureOptions& opt;
  std::vector<Job> jobs;
  std::vector<ChunkEntry> entries;
  std::map<std::string, io::InputFile> files;
  io::AtomicOutput* out = nullptr;

  std::atomic<size_t> next_job{0};
  std::mutex mu;
  std::condition_variable turn_cv;
  size_t next_commit = 0;       // guarded by mu
  bool failed = false;          // guarded by mu
  size_t error_job = SIZE_MAX;  // guarded by mu
  std::optional<Error> error;   // guarded by mu
  uint64_t cursor = format::kDataOffset;  // owned by the worker whose turn it is

  std::atomic<uint64_t> bytes_done{0};
  uint64_t bytes_total = 0;
  bool any_device = false;
  std::mutex progress_mu;
  Clock::time_point last_progress{};

  void fail(size_t job, Error e) {
    std::lock_guard lk(mu);
    if (job < error_job) {  // report the first failing chunk in file order
      error_job = job;
      error = std::move(e);
    }
    failed = true;
    turn_cv.notify_all();
  }

  void report_progress(bool final) {
    if (!opt.progress) return;
    std::lock_guard lk(progress_mu);
    auto now = Clock::now();
    if (!final && now - last_progress < std::chrono::milliseconds(50)) return;
    last_progress = now;
    opt.progress(Progress{bytes_done.load(), bytes_total});
  }

  bool cancelled() const { return io::interrupted() || (opt.cancel && opt.cancel->load()); }

  Result<std::span<const uint8_t>> read_source(const Job& j, StagingBuffer& staging) {
    const RegionInput& in = regions[j.region];
    switch (in.source()) {
      case RegionInput::Source::Host:
        return std::span<const uint8_t>(static_cast<const uint8_t*>(in.pointer()) + j.offset, j.size);
      case RegionInput::Source::File: {
        const auto& f = files.at(in.path());
        uint8_t* buf = staging.get(j.size);
        auto st = f.read_exact({buf, j.size}, in.offset() + j.offset);
        if (!st.ok())
          return Error(ErrorKind::IO, fmt::format("reading region \"{}\" from {}: {} (did the file change during capture?)",
                                                  in.meta().name, in.path(), st.error().message()));
        return std::span<const uint8_t>(buf, j.size);
      }
      case RegionInput::Source::Device: {
        uint8_t* buf = staging.get(j.size);
        VRAMSNAP_TRY(backend::copy_device_to_host(in.meta().device, static_cast<const uint8_t*>(in.pointer()) + j.offset,
                                                  buf, j.size));
        return std::span<const uint8_t>(buf, j.size);
      }
    }
    return Error(ErrorKind::Usage, "unknown region source");
  }

  void worker() {
    codec::ChunkEncoder encoder(opt.level);
    StagingBuffer buf(any_device);
    const auto choice = to_codec_choice(opt.codec);
    for (;;) {
      const size_t ji = next_job.fetch_add(1);
      if (ji >= jobs.size()) return;
      {
        std::lock_guard lk(mu);
        if (failed) return;
      }
      if (cancelled()) { fail(ji, Error(ErrorKind::Interrupted, "capture cancelled")); return; }
      const Job& j = jobs[ji];
      auto raw = read_source(j, buf);
      if (!raw.ok()) { fail(ji, std::move(raw).error()); return; }
      const auto& meta = regions[j.region].meta();
      auto enc = encoder.encode(*raw, choice, dtype_size(meta.dtype));
      if (!enc.ok()) {
        fail(ji, std::move(enc).error().with_context(fmt::format("region \"{}\" at offset {}: ", meta.name, j.offset)));
        return;
      }
      ChunkEntry e;
      e.region = j.region;
      e.codec = static_cast<Codec>(enc->codec);
      e.elem_size = enc->elem_size;
      e.region_offset = j.offset;
      e.raw_size = j.size;
      e.stored_size = enc->stored.size();
      e.hash = crypto::sha256(enc->stored);

      std::unique_lock lk(mu);
      turn_cv.wait(lk, [&] { return failed || next_commit == ji; });
      if (failed) return;
      lk.unlock();
      if (e.codec != Codec::Zero) {
        e.stored_offset = cursor;
        auto st = out->write_at(enc->stored, cursor);
        if (!st.ok()) { fail(ji, std::move(st).error()); return; }
        cursor = core::align_up(cursor + e.stored_size, format::kDataAlign);
      }
      entries[ji] = e;
      lk.lock();
      ++next_commit;
      turn_cv.notify_all();
      lk.unlock();
      bytes_done.fetch_add(j.size);
      report_progress(false);
    }
  }
};

Status validate_inputs(const std::vector<RegionInput>& regions, const CaptureOptions& opt) {
  if (opt.chunk_size < format::kMinChunkSize || opt.chunk_size > format::kMaxChunkRawSize)
    return Error(ErrorKind::Usage, fmt::format("chunk size {} is outside {} .. {} bytes", opt.chunk_size,
                                               format::kMinChunkSize, format::kMaxChunkRawSize));
  if (opt.level < -7 || opt.level > 19) return Error(ErrorKind::Usage, fmt::format("zstd level {} is outside -7 .. 19", opt.level));
  if (regions.size() > format::kMaxRegionCount)
    return Error(ErrorKind::Limit, fmt::format("{} regions exceeds the cap of {}", regions.size(), format::kMaxRegionCount));
  std::unordered_set<std::string_view> names;
  for (const auto& r : regions) {
    auto st = format::validate_region(r.meta());
    if (!st.ok()) {
      auto kind = st.error().kind() == ErrorKind::Limit ? ErrorKind::Limit : ErrorKind::Usage;
      return Error(kind, st.error().message());
    }
    if (!names.insert(r.meta().name).second)
      return Error(ErrorKind::Usage, fmt::format("region name \"{}\" is used twice; region names must be unique", r.meta().name));
    if (r.source() == RegionInput::Source::Host && r.meta().size && !r.pointer())
      return Error(ErrorKind::Usage, fmt::format("region \"{}\": null host pointer", r.meta().name));
  }
  return format::validate_labels(opt.labels, "snapshot labels");
}

}  // namespace

std::optional<CodecChoice> parse_codec_choice(const std::string& s) noexcept {
  if (s == "auto") return CodecChoice::Auto;
  if (s == "raw") return CodecChoice::Raw;
  if (s == "zstd") return CodecChoice::Zstd;
  if (s == "shuffle") return CodecChoice::Shuffle;
  return std::nullopt;
}

RegionInput RegionInput::from_file(RegionMeta meta, std::string path, uint64_t offset) {
  RegionInput r;
  r.meta_ = std::move(meta);
  r.source_ = Source::File;
  r.path_ = std::move(path);
  r.offset_ = offset;
  return r;
}

RegionInput RegionInput::from_host(RegionMeta meta, const void* data) {
  RegionInput r;
  r.meta_ = std::move(meta);
  r.source_ = Source::Host;
  r.ptr_ = data;
  return r;
}

RegionInput RegionInput::from_device(RegionMeta meta, const void* device_ptr) {
  RegionInput r;
  r.meta_ = std::move(meta);
  if (!r.meta_.va) r.meta_.va = reinterpret_cast<uint64_t>(device_ptr);
  if (r.meta_.device < 0) r.meta_.device = 0;
  r.source_ = Source::Device;
  r.ptr_ = device_ptr;
  return r;
}

Capture& Capture::add_host(RegionMeta meta, const void* data) {
  regions_.push_back(RegionInput::from_host(std::move(meta), data));
  return *this;
}
Capture& Capture::add_device(RegionMeta meta, const void* device_ptr) {
  regions_.push_back(RegionInput::from_device(std::move(meta), device_ptr));
  return *this;
}
Capture& Capture::add_file(RegionMeta meta, std::string path, uint64_t offset) {
  regions_.push_back(RegionInput::from_file(std::move(meta), std::move(path), offset));
  return *this;
}
Result<CaptureSummary> Capture::write(const std::string& path, const CaptureOptions& options) const {
  return capture(path, regions_, options);
}

SourceInfo describe_source() {
  SourceInfo s;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) s.host = host;
  backend::describe_gpu(s);
  return s;
}

Result<CaptureSummary> capture(const std::string& out_path, const std::vector<RegionInput>& regions,
                               const CaptureOptions& opt) {
  const auto t0 = Clock::now();
  VRAMSNAP_TRY(validate_inputs(regions, opt));
  Run run(regions, opt);

  bool any_device = false;
  for (uint32_t r = 0; r < regions.size(); ++r) {
    const auto& in = regions[r];
    const uint64_t size = in.meta().size;
    if (in.source() == RegionInput::Source::File && !run.files.count(in.path())) {
      auto f = io::InputFile::open(in.path());
      if (!f.ok()) return std::move(f).error();
      run.files.emplace(in.path(), std::move(f).value());
    }
    if (in.source() == RegionInput::Source::File) {
      const auto& f = run.files.at(in.path());
      auto end = core::checked_add(in.offset(), size);
      if (!end || *end > f.size())
        return Error(ErrorKind::IO, fmt::format("{}: region \"{}\" needs bytes up to {} but the file has {}", in.path(),
                                                in.meta().name, end.value_or(UINT64_MAX), f.size()));
      f.advise_sequential();
    }
    if (in.source() == RegionInput::Source::Device) any_device = true;
    for (uint64_t off = 0; off < size; off += opt.chunk_size) {
      run.jobs.push_back({r, off, std::min<uint64_t>(opt.chunk_size, size - off)});
      if (run.jobs.size() > format::kMaxChunkCount)
        return Error(ErrorKind::Limit, fmt::format("snapshot would have more than {} chunks; use a larger chunk size",
                                                   format::kMaxChunkCount));
    }
    run.bytes_total += size;
  }
  if (any_device) VRAMSNAP_TRY(backend::require_gpu());
  run.any_device = any_device;
  run.entries.resize(run.jobs.size());

  VRAMSNAP_ASSIGN_OR_RETURN(auto out, io::AtomicOutput::create(out_path, opt.overwrite));
  run.out = &out;

  unsigned threads = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(threads, run.jobs.size())));
  {
    std::vector<std::jthread> pool;
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&run] { run.worker(); });
  }
  if (run.failed) return std::move(*run.error);
  if (run.cancelled()) return Error(ErrorKind::Interrupted, "capture cancelled");
  run.report_progress(true);

  // Metadata: header, table, manifest, seal, trailer.
  format::Header header;
  if (RAND_bytes(header.snapshot_id.data(), static_cast<int>(header.snapshot_id.size())) != 1)
    return Error(ErrorKind::Resource, "cannot draw a random snapshot id (RAND_bytes failed)");
  SnapshotMeta meta;
  meta.id = header.snapshot_id;
  meta.id_hex = crypto::to_hex(header.snapshot_id);
  meta.created = core::utc_now_rfc3339();
  meta.tool = std::string("vramsnap ") + VRAMSNAP_VERSION;
  meta.generation = opt.generation;
  meta.labels = opt.labels;
  meta.chunk_size = opt.chunk_size;
  if (opt.source) meta.source = *opt.source;
  else {
    meta.source.host = describe_source().host;
    if (any_device) backend::describe_gpu(meta.source);
  }
  std::vector<RegionMeta> metas;
  for (const auto& r : regions) metas.push_back(r.meta());

  std::vector<uint8_t> table(run.entries.size() * format::kChunkRecordSize);
  for (size_t i = 0; i < run.entries.size(); ++i) format::encode_record(run.entries[i], &table[i * format::kChunkRecordSize]);
  const std::string manifest = format::encode_manifest(meta, metas);
  if (manifest.size() > format::kMaxManifestSize)
    return Error(ErrorKind::Limit, fmt::format("manifest of {} bytes exceeds the cap of {}", manifest.size(), format::kMaxManifestSize));
  const std::span<const uint8_t> manifest_bytes(reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size());

  format::Trailer tr;
  tr.table_offset = run.cursor;
  tr.chunk_count = run.entries.size();
  tr.region_count = static_cast<uint32_t>(regions.size());
  tr.manifest_offset = tr.table_offset + table.size();
  tr.manifest_size = manifest.size();
  tr.seal_offset = core::align_up(tr.manifest_offset + tr.manifest_size, format::kSealAlign);
  tr.file_size = tr.seal_offset + format::kSealSize + format::kTrailerSize;
  tr.table_hash = crypto::sha256(table);
  tr.manifest_hash = crypto::sha256(manifest_bytes);
  const auto header_bytes = format::encode_header(header);
  const auto trailer_bytes = format::encode_trailer(tr);
  format::SealBlock seal;
  CaptureSummary sum;
  if (opt.key) {
    seal.algorithm = format::kSealHmacSha256;
    seal.key_id = opt.key->impl().id();
    seal.mac = format::compute_seal_mac(opt.key->impl(), header_bytes, trailer_bytes);
    sum.seal.state = SealState::HmacSha256;
    sum.seal.key_id = seal.key_id;
    sum.seal.key_id_hex = opt.key->id_hex();
  }
  const auto seal_bytes = format::encode_seal(seal);

  VRAMSNAP_TRY(out.write_at(header_bytes, 0));
  VRAMSNAP_TRY(out.write_at(table, tr.table_offset));
  VRAMSNAP_TRY(out.write_at(manifest_bytes, tr.manifest_offset));
  const std::vector<uint8_t> pad(tr.seal_offset - (tr.manifest_offset + tr.manifest_size), 0);
  VRAMSNAP_TRY(out.write_at(pad, tr.manifest_offset + tr.manifest_size));
  VRAMSNAP_TRY(out.write_at(seal_bytes, tr.seal_offset));
  VRAMSNAP_TRY(out.write_at(trailer_bytes, tr.seal_offset + format::kSealSize));
  if (run.cancelled()) return Error(ErrorKind::Interrupted, "capture cancelled");
  VRAMSNAP_TRY(out.commit());

  sum.path = out_path;
  sum.id_hex = meta.id_hex;
  sum.file_size = tr.file_size;
  sum.threads = threads;
  sum.regions.resize(regions.size());
  for (size_t r = 0; r < regions.size(); ++r) sum.regions[r].meta = metas[r];
  for (const auto& e : run.entries) {
    auto& rs = sum.regions[e.region];
    rs.stored += e.stored_size;
    rs.chunks += 1;
    rs.codec_chunks[static_cast<size_t>(e.codec)] += 1;
    sum.stored_total += e.stored_size;
  }
  sum.raw_total = run.bytes_total;
  sum.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return sum;
}

}  // namespace vramsnap
