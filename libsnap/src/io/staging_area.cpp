// The staging area under StagingDir and TreeStage (see staging_area.h), and
// the directory fsync both use.
#include "io/staging_area.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

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

Result<StagingArea> StagingArea::create(const std::string& dir, const std::string& what) {
  StagingArea s;
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
    s.stage_name_ = tmpl.substr(dir.size() + 1);  // the destructor removes it from here on
    s.slot_ = register_temp_dir(tmpl);
    if (s.slot_ < 0) return Error(ErrorKind::Limit, "too many temporary outputs registered for interrupt cleanup");
  }
  s.stagefd_.reset(::openat(s.dirfd_.get(), s.stage_name_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!s.stagefd_) return errno_error(ErrorKind::IO, s.stage_path(), "open directory", errno);
  return s;
}

StagingArea::StagingArea(StagingArea&& o) noexcept
    : dir_(std::move(o.dir_)), stage_name_(std::exchange(o.stage_name_, std::string())), dirfd_(std::move(o.dirfd_)),
      stagefd_(std::move(o.stagefd_)), slot_(std::exchange(o.slot_, -1)),
      created_slot_(std::exchange(o.created_slot_, -1)), created_(std::exchange(o.created_, false)),
      committed_(o.committed_), moved_(std::exchange(o.moved_, {})) {}

StagingArea::~StagingArea() {
  // Entries moved into DIR by a commit that failed half-way go too.
  if (!committed_)
    for (const auto& name : moved_) remove_tree_at(dirfd_.get(), name);
  stagefd_.reset();
  if (!stage_name_.empty() && dirfd_) remove_tree_at(dirfd_.get(), stage_name_);
  if (slot_ >= 0) unregister_temp_path(slot_);
  if (created_ && !committed_) (void)::rmdir(dir_.c_str());
  if (created_slot_ >= 0) unregister_temp_path(created_slot_);
}

Status StagingArea::check_absent(const std::string& name) const {
  struct stat st {};
  if (::fstatat(dirfd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    return Error(ErrorKind::IO, dir_ + "/" + name + " exists; refusing to overwrite it (extract into an empty directory)");
  if (errno != ENOENT) return errno_error(ErrorKind::IO, dir_ + "/" + name, "cannot stat", errno);
  return {};
}

Status StagingArea::sync_all() const {
  if (::syncfs(stagefd_.get()) != 0) return errno_error(ErrorKind::IO, dir_, "syncfs", errno);
  return {};
}

Status StagingArea::move_in(const std::string& name) {
  const std::string shown = dir_ + "/" + name;
  VRAMSNAP_ASSIGN_OR_RETURN(bool moved, rename_noreplace(stagefd_.get(), name, dirfd_.get(), name, shown));
  if (!moved) return Error(ErrorKind::IO, shown + " exists; refusing to overwrite it");
  moved_.push_back(name);
  return {};
}

Status StagingArea::commit() {
  VRAMSNAP_TRY(fsync_directory_fd(dirfd_.get(), dir_));
  committed_ = true;
  return {};
}

}  // namespace vramsnap::io
