// Verified restore: host memory, extract-to-files, and (through the backend)
// CUDA device memory, all over one chunk engine.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "backend/device_restore.h"
#include "codec/codec.h"
#include "core/checked_math.h"
#include "format/names.h"
#include "io/aligned_buffer.h"
#include "io/cleanup.h"
#include "io/file.h"
#include "io/memory.h"
#include "pipeline/placement.h"

namespace vramsnap {

// ---- Restored --------------------------------------------------------------
Restored::State::~State() {
  for (void* p : host_owned) std::free(p);
}
Restored::Restored() : state_(std::make_unique<State>()) {}
Restored::Restored(std::unique_ptr<State> s) : state_(std::move(s)) {}
Restored::Restored(Restored&&) noexcept = default;
Restored& Restored::operator=(Restored&&) noexcept = default;
Restored::~Restored() = default;
const std::vector<RestoredRegion>& Restored::regions() const { return state_->regions; }
const RestoredRegion* Restored::find(const std::string& name) const {
  for (const auto& r : state_->regions)
    if (r.meta.name == name) return &r;
  return nullptr;
}
const RestoreStats& Restored::stats() const { return state_->stats; }
void Restored::release() {
  state_->host_owned.clear();
  if (state_->device) state_->device->disown();
}

namespace pipeline {
namespace {

// Fresh anonymous memory takes a page fault per 4 KiB page on first write,
// which on the machines we measured cost about as much as hashing the chunk.
// One madvise(MADV_POPULATE_WRITE) per chunk faults its pages in as a batch
// (about half the cost of faulting page by page), on the worker that is about
// to fill them. Only a hint: before Linux 5.14 it fails with EINVAL and the
// pages fault in as they are written, as before; contents are unchanged.
void populate_for_write(std::span<uint8_t> dst) {
#ifdef MADV_POPULATE_WRITE
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  if (dst.empty() || page == 0) return;
  const uintptr_t start = reinterpret_cast<uintptr_t>(dst.data()) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(dst.data()) + dst.size();
  (void)::madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
#else
  (void)dst;
#endif
}

// Decodes straight into region buffers: no staging copy.
class HostPlacement final : public Placement {
 public:
  HostPlacement(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt,
                Restored::State& out)
      : s_(s), regions_(regions), opt_(opt), out_(out), base_(s.regions.size(), nullptr),
        owned_(s.regions.size(), false) {}

  Status prepare(unsigned, PhaseTimes& times) override {
    const uint64_t t0 = now_ns();
    uint64_t budget = opt_.max_host_bytes;
    std::string budget_source = "the limit given (max_host_bytes)";
    if (budget == 0) {
      budget = io::available_host_memory().value_or(UINT64_MAX);
      budget_source = "the memory available now";
    }
    uint64_t allocated = 0;
    for (size_t r : regions_) {
      const auto& meta = s_.regions[r];
      RestoredRegion rr;
      rr.index = r;
      rr.meta = meta;
      void* p = nullptr;
      if (opt_.host_allocator) {
        p = opt_.host_allocator(meta);
        rr.caller_owned = p != nullptr;
      }
      if (!p && meta.size) {
        const auto total = core::checked_add(allocated, meta.size);
        if (!total || *total > budget)
          return Error(ErrorKind::Limit,
                       fmt::format("{}: region \"{}\" needs {} bytes of host memory, {} bytes in all so far, more than "
                                   "{} ({} bytes); restore fewer regions or raise the limit",
                                   s_.path, meta.name, meta.size, total ? *total : UINT64_MAX, budget_source, budget));
        allocated = *total;
        if (posix_memalign(&p, 4096, meta.size) != 0 || !p)
          return Error(ErrorKind::Limit, fmt::format("{}: out of host memory allocating {} bytes for region \"{}\"",
                                                     s_.path, meta.size, meta.name));
        out_.host_owned.push_back(p);
        owned_[r] = true;
      }
      rr.host = p;
      base_[r] = static_cast<uint8_t*>(p);
      out_.regions.push_back(std::move(rr));
    }
    times.allocate += seconds_since(t0);
    return {};
  }
  Result<std::span<uint8_t>> acquire(unsigned, size_t i) override {
    const auto& c = s_.chunks[i];
    return std::span<uint8_t>(base_[c.region] + c.region_offset, c.raw_size);
  }
  Status commit(unsigned, size_t, std::span<uint8_t>, WorkerClock&) override { return {}; }
  Status finish(PhaseTimes&) override { return {}; }
  // Regions in memory this restore allocated (fresh pages, worth prefaulting);
  // caller-owned buffers are left alone.
  const std::vector<bool>& fresh_regions() const { return owned_; }

 private:
  const SnapshotData& s_;
  const std::vector<size_t>& regions_;
  const RestoreOptions& opt_;
  Restored::State& out_;
  std::vector<uint8_t*> base_;
  std::vector<bool> owned_;
};

// Writes each region to DIR/<encoded name>. Files are staged in a private
// directory DIR/.vramsnap-extract-XXXXXX (created and registered for
// interrupt cleanup with signals blocked), each created with
// O_EXCL|O_NOFOLLOW; only after every chunk has been verified are they
// renamed into DIR, never replacing anything. On failure or interrupt the
// staging directory and everything in it is removed.
class ExtractPlacement final : public Placement {
 public:
  ExtractPlacement(const SnapshotData& s, const std::vector<size_t>& regions, std::string dir)
      : s_(s), regions_(regions), dir_(std::move(dir)), fds_(s.regions.size(), -1), names_(s.regions.size()) {}
  ~ExtractPlacement() override {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
    if (stagefd_ >= 0) {
      for (size_t r : regions_)
        if (!names_[r].empty()) ::unlinkat(stagefd_, names_[r].c_str(), 0);
      ::close(stagefd_);
    }
    // Files already moved into DIR by a finish() that failed half-way.
    for (const auto& n : moved_) ::unlinkat(dirfd_, n.c_str(), 0);
    if (!stage_.empty()) ::rmdir(stage_.c_str());
    if (slot_ >= 0) io::unregister_temp_path(slot_);
    if (dirfd_ >= 0) ::close(dirfd_);
  }

  Status prepare(unsigned threads, PhaseTimes& times) override {
    const uint64_t t0 = now_ns();
    if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) return io::errno_error(ErrorKind::IO, dir_, "mkdir", errno);
    dirfd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd_ < 0) return io::errno_error(ErrorKind::IO, dir_, "open directory", errno);
    scratch_.resize(threads);
    for (size_t r : regions_) {
      const std::string name = format::extract_file_name(s_.regions[r].name);
      struct stat st{};
      if (::fstatat(dirfd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        return Error(ErrorKind::IO, fmt::format("{}/{} exists; refusing to overwrite it (extract into an empty directory)", dir_, name));
    }
    {
      io::ScopedInterruptBlock block;
      std::string tmpl = dir_ + "/.vramsnap-extract-XXXXXX";
      if (!::mkdtemp(tmpl.data())) return io::errno_error(ErrorKind::IO, dir_, "create staging directory", errno);
      stage_ = tmpl;
      slot_ = io::register_temp_dir(stage_);
      if (slot_ < 0) return Error(ErrorKind::Limit, "too many temporary outputs registered for interrupt cleanup");
    }
    stagefd_ = ::open(stage_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (stagefd_ < 0) return io::errno_error(ErrorKind::IO, stage_, "open directory", errno);
    for (size_t r : regions_) {
      const std::string name = format::extract_file_name(s_.regions[r].name);
      int fd = ::openat(stagefd_, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0) return io::errno_error(ErrorKind::IO, stage_ + "/" + name, "create", errno);
      fds_[r] = fd;
      names_[r] = name;
      if (s_.regions[r].size && ::ftruncate(fd, static_cast<off_t>(s_.regions[r].size)) != 0)
        return io::errno_error(ErrorKind::IO, dir_ + "/" + name, "ftruncate", errno);
    }
    times.allocate += seconds_since(t0);
    return {};
  }
  Result<std::span<uint8_t>> acquire(unsigned w, size_t i) override {
    auto& b = scratch_[w];
    if (b.size() < s_.chunks[i].raw_size) b.resize(s_.chunks[i].raw_size);
    return std::span<uint8_t>(b.data(), s_.chunks[i].raw_size);
  }
  Status commit(unsigned, size_t i, std::span<uint8_t> bytes, WorkerClock& clk) override {
    const auto& c = s_.chunks[i];
    if (c.codec == Codec::Zero) return {};  // ftruncate left a hole of zeros
    PhaseTimer t(clk.copy_ns);
    return io::write_exact_fd(fds_[c.region], bytes, c.region_offset, dir_ + "/" + names_[c.region]);
  }
  Status finish(PhaseTimes& times) override {
    const uint64_t t0 = now_ns();
    for (size_t r : regions_) VRAMSNAP_TRY(io::fsync_fd(fds_[r], dir_ + "/" + names_[r]));
    for (size_t r : regions_) {
      VRAMSNAP_TRY(io::rename_noreplace(stagefd_, names_[r], dirfd_, names_[r], dir_ + "/" + names_[r]));
      moved_.push_back(names_[r]);
      files_.push_back({s_.regions[r].name, dir_ + "/" + names_[r], s_.regions[r].size});
      names_[r].clear();
    }
    VRAMSNAP_TRY(io::fsync_fd(dirfd_, dir_));
    moved_.clear();  // committed: the files are the caller's now
    times.copy += seconds_since(t0);
    return {};
  }
  std::vector<ExtractedFile> files_;

 private:
  const SnapshotData& s_;
  const std::vector<size_t>& regions_;
  std::string dir_, stage_;
  int dirfd_ = -1, stagefd_ = -1, slot_ = -1;
  std::vector<int> fds_;
  std::vector<std::string> names_, moved_;
  std::vector<std::vector<uint8_t>> scratch_;
};

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
    if (!found) return Error(ErrorKind::Usage, fmt::format("{}: no region named \"{}\" (list them with: vramsnap inspect {})", s.path, n, s.path));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The verified restore loop shared by every target. `prefault`: regions whose
// destination pages are fresh and are faulted in per chunk (see
// populate_for_write); nullptr for none.
Status run_restore(const SnapshotData& s, const std::vector<size_t>& regions, const RestoreOptions& opt,
                   Placement& place, RestoreStats& stats, const std::vector<bool>* prefault = nullptr) {
  const uint64_t t_seal = now_ns();
  VRAMSNAP_TRY(check_snapshot(s, opt));
  stats.phases.seal_check += seconds_since(t_seal);

  std::vector<size_t> chunks;
  for (size_t r : regions)
    for (size_t i = s.region_ranges[r].first; i < s.region_ranges[r].second; ++i) chunks.push_back(i);
  const unsigned threads = effective_threads(opt.threads, chunks.size());
  stats.threads = threads;
  VRAMSNAP_TRY(place.prepare(threads, stats.phases));

  // Per worker: the stored bytes of compressed chunks, and a SHA-256 context.
  std::vector<io::AlignedBuffer> bufs(threads);
  std::vector<crypto::Sha256> hashes(threads);
  std::vector<std::unique_ptr<codec::ChunkDecoder>> decoders(threads);
  for (auto& d : decoders) d = std::make_unique<codec::ChunkDecoder>();
  auto fn = [&](unsigned w, size_t i, WorkerClock& clk) -> Status {
    const auto& c = s.chunks[i];
    VRAMSNAP_ASSIGN_OR_RETURN(std::span<uint8_t> dst, place.acquire(w, i));
    if (prefault && (*prefault)[c.region]) {
      // Charged to the phase whose writes would otherwise take the faults.
      PhaseTimer t(c.codec == Codec::Raw ? clk.read_ns : clk.decode_ns);
      populate_for_write(dst);
    }
    if (c.codec == Codec::Zero) {
      PhaseTimer t(clk.decode_ns);
      std::memset(dst.data(), 0, dst.size());
      return place.commit(w, i, dst, clk);
    }
    // Raw chunks are read straight into the destination; compressed ones into
    // the worker's buffer. Either way each piece is hashed as it arrives, and
    // nothing is decoded or handed on before the whole chunk's hash matches.
    std::span<uint8_t> in = dst;
    if (c.codec != Codec::Raw) {
      in = bufs[w].reserve(c.stored_size);
      if (in.size() != c.stored_size)
        return Error(ErrorKind::Limit, format::chunk_context(s, i) + fmt::format(": out of memory for a {}-byte read buffer", c.stored_size));
    }
    VRAMSNAP_TRY(format::read_hashed_chunk(s, i, in, format::Keep::Stored, hashes[w], &clk.read_ns, &clk.hash_ns));
    if (c.codec != Codec::Raw) {
      PhaseTimer t(clk.decode_ns);
      auto st = decoders[w]->decode(static_cast<format::CodecId>(c.codec), c.elem_size, in, dst);
      if (!st.ok()) return std::move(st).error().with_context(format::chunk_context(s, i) + ": ");
    }
    return place.commit(w, i, dst, clk);
  };
  EngineOptions eo{threads, opt.progress, opt.cancel};
  VRAMSNAP_TRY(run_chunks(s, chunks, threads, eo, fn, &stats.phases));
  VRAMSNAP_TRY(place.finish(stats.phases));
  for (size_t i : chunks) {
    stats.raw_bytes += s.chunks[i].raw_size;
    stats.stored_bytes += s.chunks[i].stored_size;
  }
  stats.chunks = chunks.size();
  return {};
}

}  // namespace
}  // namespace pipeline

Result<Restored> restore(const Snapshot& snap, const RestoreOptions& opt) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = snap.data();
  VRAMSNAP_ASSIGN_OR_RETURN(auto regions, pipeline::select_regions(s, opt.regions));
  auto state = std::make_unique<Restored::State>();
  std::unique_ptr<pipeline::Placement> place;
  const std::vector<bool>* prefault = nullptr;
  if (opt.target == Target::Host) {
    auto host = std::make_unique<pipeline::HostPlacement>(s, regions, opt, *state);
    prefault = &host->fresh_regions();
    place = std::move(host);
  } else {
    // Check the seal before touching the GPU: a bad file never costs a context.
    VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
    VRAMSNAP_ASSIGN_OR_RETURN(place, backend::make_cuda_placement(s, regions, opt, *state, state->stats.phases));
  }
  auto st = pipeline::run_restore(s, regions, opt, *place, state->stats, prefault);
  place.reset();
  if (!st.ok()) return std::move(st).error();  // state's destructor frees everything
  state->stats.phases.total = pipeline::seconds_since(t0);
  return Restored(std::move(state));
}

Result<std::vector<ExtractedFile>> extract(const Snapshot& snap, const std::string& dir, const RestoreOptions& opt,
                                           RestoreStats* stats) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = snap.data();
  VRAMSNAP_ASSIGN_OR_RETURN(auto regions, pipeline::select_regions(s, opt.regions));
  RestoreStats local;
  RestoreStats& st_out = stats ? *stats : local;
  // Seal first: nothing is created for a file that fails it.
  VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
  pipeline::ExtractPlacement place(s, regions, dir);
  VRAMSNAP_TRY(pipeline::run_restore(s, regions, opt, place, st_out));
  st_out.phases.total = pipeline::seconds_since(t0);
  return std::move(place.files_);
}

}  // namespace vramsnap
