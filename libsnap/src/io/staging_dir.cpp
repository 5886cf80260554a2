// Flat staged files (see staging_dir.h); the staging directory itself is a
// StagingArea.
#include "io/staging_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "io/file.h"

namespace vramsnap::io {

Result<StagingDir> StagingDir::create(const std::string& dir, const std::string& what) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto area, StagingArea::create(dir, what));
  return StagingDir(std::move(area));
}

Result<size_t> StagingDir::add_file(const std::string& name, uint64_t size, unsigned mode) {
  UniqueFd fd(::openat(area_.stagefd(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       static_cast<mode_t>(mode & 07777)));
  if (!fd) return errno_error(ErrorKind::IO, area_.stage_path() + "/" + name, "create", errno);
  files_.push_back({name, UniqueFd(), false});
  if (size && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    return errno_error(ErrorKind::IO, dir() + "/" + name, "ftruncate", errno);
  return files_.size() - 1;
}

Result<int> StagingDir::open_fd(File& f) {
  if (!f.fd) {
    f.fd.reset(::openat(area_.stagefd(), f.name.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f.fd) return errno_error(ErrorKind::IO, area_.stage_path() + "/" + f.name, "open", errno);
  }
  return f.fd.get();
}

Status StagingDir::write_at(size_t file, std::span<const uint8_t> data, uint64_t offset) {
  int fd = -1;
  {
    std::lock_guard lock(*mu_);
    VRAMSNAP_ASSIGN_OR_RETURN(fd, open_fd(files_[file]));
  }
  return write_exact_fd(fd, data, offset, dir() + "/" + files_[file].name);
}

Status StagingDir::close_file(size_t file) {
  std::lock_guard lock(*mu_);
  File& f = files_[file];
  if (f.closed) return {};
  if (files_.size() <= kSyncEachUpTo) {
    VRAMSNAP_ASSIGN_OR_RETURN(const int fd, open_fd(f));
    VRAMSNAP_TRY(fsync_fd(fd, dir() + "/" + f.name));
  }
  f.fd.reset();
  f.closed = true;
  return {};
}

Status StagingDir::commit() {
  for (size_t i = 0; i < files_.size(); ++i) VRAMSNAP_TRY(close_file(i));
  if (files_.size() > kSyncEachUpTo) VRAMSNAP_TRY(area_.sync_all());
  for (const auto& f : files_) VRAMSNAP_TRY(area_.move_in(f.name));
  return area_.commit();
}

}  // namespace vramsnap::io
