#include "io/staging_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "io/cleanup.h"
#include "io/file.h"

namespace vramsnap::io {

Status fsync_directory_fd(int dirfd, const std::string& display_path) {
  int rc;
  do {
    rc = ::fsync(dirfd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINVAL && errno != EROFS) return errno_error(ErrorKind::IO, display_path, "fsync directory", errno);
  return {};
}

Status fsync_directory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(ErrorKind::IO, dir, "cannot open directory to fsync", errno);
  return fsync_directory_fd(fd.get(), dir);
}

Result<StagingDir> StagingDir::create(const std::string& dir, const std::string& what) {
  StagingDir s;
  s.dir_ = dir;
  {
    // A DIR made here goes again on failure or interrupt; one that existed stays.
    ScopedInterruptBlock block;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      s.created_slot_ = register_created_dir(dir);
      s.created_ = true;
    } else if (errno != EEXIST) {
      return errno_error(ErrorKind::IO, dir, "mkdir", errno);
    }
  }
  s.dirfd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!s.dirfd_) return errno_error(ErrorKind::IO, dir, "open directory", errno);
  {
    ScopedInterruptBlock block;
    std::string tmpl = dir + "/.vramsnap-" + what + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return errno_error(ErrorKind::IO, dir, "create staging directory", errno);
    s.stage_ = tmpl;
    s.slot_ = register_temp_dir(s.stage_);
    if (s.slot_ < 0) return Error(ErrorKind::Limit, "too many temporary outputs registered for interrupt cleanup");
  }
  s.stagefd_.reset(::open(s.stage_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!s.stagefd_) return errno_error(ErrorKind::IO, s.stage_, "open directory", errno);
  return s;
}

StagingDir::StagingDir(StagingDir&& o) noexcept
    : dir_(std::move(o.dir_)), stage_(std::exchange(o.stage_, std::string())), dirfd_(std::move(o.dirfd_)),
      stagefd_(std::move(o.stagefd_)), slot_(std::exchange(o.slot_, -1)),
      created_slot_(std::exchange(o.created_slot_, -1)), created_(std::exchange(o.created_, false)),
      committed_(o.committed_), files_(std::move(o.files_)) {}

StagingDir::~StagingDir() {
  for (auto& f : files_) {
    f.fd.reset();
    if (committed_) continue;
    // Files moved into DIR by a commit that failed half-way go too.
    if (f.moved) (void)::unlinkat(dirfd_.get(), f.name.c_str(), 0);
    else if (stagefd_) (void)::unlinkat(stagefd_.get(), f.name.c_str(), 0);
  }
  stagefd_.reset();
  if (!stage_.empty()) (void)::rmdir(stage_.c_str());
  if (slot_ >= 0) unregister_temp_path(slot_);
  if (created_ && !committed_) (void)::rmdir(dir_.c_str());
  if (created_slot_ >= 0) unregister_temp_path(created_slot_);
}

Status StagingDir::check_absent(const std::string& name) const {
  struct stat st {};
  if (::fstatat(dirfd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    return Error(ErrorKind::IO, dir_ + "/" + name + " exists; refusing to overwrite it (extract into an empty directory)");
  if (errno != ENOENT) return errno_error(ErrorKind::IO, dir_ + "/" + name, "cannot stat", errno);
  return {};
}

Result<size_t> StagingDir::add_file(const std::string& name, uint64_t size, unsigned mode) {
  UniqueFd fd(::openat(stagefd_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       static_cast<mode_t>(mode & 07777)));
  if (!fd) return errno_error(ErrorKind::IO, stage_ + "/" + name, "create", errno);
  files_.push_back({name, UniqueFd(), false, false});
  if (size && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    return errno_error(ErrorKind::IO, dir_ + "/" + name, "ftruncate", errno);
  return files_.size() - 1;
}

Result<int> StagingDir::open_fd(File& f) {
  if (!f.fd) {
    f.fd.reset(::openat(stagefd_.get(), f.name.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f.fd) return errno_error(ErrorKind::IO, stage_ + "/" + f.name, "open", errno);
  }
  return f.fd.get();
}

Status StagingDir::write_at(size_t file, std::span<const uint8_t> data, uint64_t offset) {
  int fd = -1;
  {
    std::lock_guard lock(*mu_);
    VRAMSNAP_ASSIGN_OR_RETURN(fd, open_fd(files_[file]));
  }
  return write_exact_fd(fd, data, offset, dir_ + "/" + files_[file].name);
}

Status StagingDir::close_file(size_t file) {
  std::lock_guard lock(*mu_);
  File& f = files_[file];
  if (f.closed) return {};
  if (files_.size() <= kSyncEachUpTo) {
    VRAMSNAP_ASSIGN_OR_RETURN(const int fd, open_fd(f));
    VRAMSNAP_TRY(fsync_fd(fd, dir_ + "/" + f.name));
  }
  f.fd.reset();
  f.closed = true;
  return {};
}

Status StagingDir::commit() {
  for (size_t i = 0; i < files_.size(); ++i) VRAMSNAP_TRY(close_file(i));
  if (files_.size() > kSyncEachUpTo && ::syncfs(stagefd_.get()) != 0)
    return errno_error(ErrorKind::IO, dir_, "syncfs", errno);
  for (auto& f : files_) {
    const std::string shown = dir_ + "/" + f.name;
    VRAMSNAP_ASSIGN_OR_RETURN(bool moved, rename_noreplace(stagefd_.get(), f.name, dirfd_.get(), f.name, shown));
    if (!moved) return Error(ErrorKind::IO, shown + " exists; refusing to overwrite it");
    f.moved = true;
  }
  VRAMSNAP_TRY(fsync_directory_fd(dirfd_.get(), dir_));
  committed_ = true;
  return {};
}

}  // namespace vramsnap::io
