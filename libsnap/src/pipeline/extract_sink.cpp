// The extract sink (see extract_sink.h).
#include "pipeline/extract_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "format/names.h"
#include "io/cleanup.h"
#include "io/file.h"

namespace vramsnap::pipeline {

ExtractSink::ExtractSink(const SnapshotData& s, const std::vector<size_t>& regions, std::string dir)
    : s_(s), regions_(regions), dir_(std::move(dir)), fds_(s.regions.size(), -1), names_(s.regions.size()) {}

ExtractSink::~ExtractSink() {
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

Status ExtractSink::prepare(unsigned threads, PhaseTimes& times) {
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
Result<std::span<uint8_t>> ExtractSink::acquire(unsigned w, size_t i, WorkerClock&) {
  auto& b = scratch_[w];
  if (b.size() < s_.chunks[i].raw_size) b.resize(s_.chunks[i].raw_size);
  return std::span<uint8_t>(b.data(), s_.chunks[i].raw_size);
}
Status ExtractSink::commit(unsigned, size_t i, std::span<uint8_t> bytes, WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  PhaseTimer t(clk.copy_ns);
  return io::write_exact_fd(fds_[c.region], bytes, c.region_offset, dir_ + "/" + names_[c.region]);
}
Status ExtractSink::finish(PhaseTimes& times) {
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

}  // namespace vramsnap::pipeline
