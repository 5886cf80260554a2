#include "io/tree_stage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "io/cleanup.h"
#include "io/file.h"

namespace vramsnap::io {

Result<TreeStage> TreeStage::create(const std::string& dir) {
  TreeStage s;
  s.dir_ = dir;
  {
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
    std::string tmpl = dir + "/.vramsnap-tree-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return errno_error(ErrorKind::IO, dir, "create staging directory", errno);
    s.stage_name_ = tmpl.substr(dir.size() + 1);
    s.slot_ = register_temp_dir(tmpl);
    if (s.slot_ < 0) {
      remove_tree_at(s.dirfd_.get(), s.stage_name_);
      s.stage_name_.clear();
      return Error(ErrorKind::Limit, "too many temporary outputs registered for interrupt cleanup");
    }
  }
  s.stagefd_.reset(::openat(s.dirfd_.get(), s.stage_name_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!s.stagefd_) return errno_error(ErrorKind::IO, dir + "/" + s.stage_name_, "open directory", errno);
  return s;
}

TreeStage::TreeStage(TreeStage&& o) noexcept
    : dir_(std::move(o.dir_)), stage_name_(std::exchange(o.stage_name_, std::string())), dirfd_(std::move(o.dirfd_)),
      stagefd_(std::move(o.stagefd_)), slot_(std::exchange(o.slot_, -1)),
      created_slot_(std::exchange(o.created_slot_, -1)), created_(std::exchange(o.created_, false)),
      committed_(o.committed_), files_(std::move(o.files_)), dirs_(std::move(o.dirs_)), tops_(std::move(o.tops_)),
      moved_(std::move(o.moved_)), mu_(std::move(o.mu_)) {}

TreeStage::~TreeStage() {
  for (auto& f : files_) f.fd.reset();
  if (!committed_) {
    for (size_t i = 0; i < moved_.size(); ++i)
      if (moved_[i]) remove_tree_at(dirfd_.get(), tops_[i]);
  }
  stagefd_.reset();
  if (!stage_name_.empty() && dirfd_) remove_tree_at(dirfd_.get(), stage_name_);
  if (slot_ >= 0) unregister_temp_path(slot_);
  if (created_ && !committed_) (void)::rmdir(dir_.c_str());
  if (created_slot_ >= 0) unregister_temp_path(created_slot_);
}

Status TreeStage::check_absent(const std::string& top) const {
  struct stat st {};
  if (::fstatat(dirfd_.get(), top.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    return Error(ErrorKind::IO, dir_ + "/" + top + " exists; refusing to overwrite it (extract into an empty directory)");
  if (errno != ENOENT) return errno_error(ErrorKind::IO, dir_ + "/" + top, "cannot stat", errno);
  return {};
}

// The directory that holds `path`'s last segment, reached level by level
// from the staging directory without following links; with `create`, the
// missing levels are made (and remembered for fsync).
Result<UniqueFd> TreeStage::open_parent(const std::string& path, bool create, std::string* leaf) {
  UniqueFd cur(::fcntl(stagefd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!cur) return errno_error(ErrorKind::IO, dir_, "dup", errno);
  size_t start = 0;
  for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1) {
    const std::string seg = path.substr(start, slash - start);
    if (create && ::mkdirat(cur.get(), seg.c_str(), 0755) == 0) {
      dirs_.push_back(path.substr(0, slash));
    } else if (create && errno != EEXIST) {
      return errno_error(ErrorKind::IO, dir_ + "/" + path.substr(0, slash), "mkdir", errno);
    }
    UniqueFd next(::openat(cur.get(), seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return errno_error(ErrorKind::IO, dir_ + "/" + path.substr(0, slash), "open directory", errno);
    cur = std::move(next);
  }
  *leaf = path.substr(start);
  return cur;
}

Result<size_t> TreeStage::add_file(const std::string& path, uint64_t size, unsigned mode) {
  const std::string top = path.substr(0, path.find('/'));
  if (std::find(tops_.begin(), tops_.end(), top) == tops_.end()) {
    tops_.push_back(top);
    moved_.push_back(false);
  }
  std::string leaf;
  VRAMSNAP_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(path, true, &leaf));
  UniqueFd fd(::openat(parent.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error(ErrorKind::IO, dir_ + "/" + path, "create", errno);
  if (size && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    return errno_error(ErrorKind::IO, dir_ + "/" + path, "ftruncate", errno);
  files_.push_back({path, mode & 0777, std::move(fd), false});
  return files_.size() - 1;
}

Status TreeStage::write_at(size_t file, std::span<const uint8_t> data, uint64_t offset) {
  int fd;
  {
    std::lock_guard lock(*mu_);
    File& f = files_[file];
    if (!f.fd) {
      std::string leaf;
      VRAMSNAP_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(f.path, false, &leaf));
      f.fd.reset(::openat(parent.get(), leaf.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!f.fd) return errno_error(ErrorKind::IO, dir_ + "/" + f.path, "open", errno);
    }
    fd = f.fd.get();
  }
  return write_exact_fd(fd, data, offset, dir_ + "/" + files_[file].path);
}

void TreeStage::park_file(size_t file) {
  std::lock_guard lock(*mu_);
  files_[file].fd.reset();
}

Status TreeStage::close_file(size_t file) {
  std::lock_guard lock(*mu_);
  File& f = files_[file];
  if (f.closed) return {};
  if (!f.fd) {
    std::string leaf;
    VRAMSNAP_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(f.path, false, &leaf));
    f.fd.reset(::openat(parent.get(), leaf.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f.fd) return errno_error(ErrorKind::IO, dir_ + "/" + f.path, "open", errno);
  }
  // Many files are flushed with one syncfs at commit instead (staging_dir.cpp).
  if (files_.size() <= kSyncEachUpTo) VRAMSNAP_TRY(fsync_fd(f.fd.get(), dir_ + "/" + f.path));
  // fchmod, not the create mode: exact bits whatever the umask.
  if (::fchmod(f.fd.get(), static_cast<mode_t>(f.mode)) != 0)
    return errno_error(ErrorKind::IO, dir_ + "/" + f.path, "chmod", errno);
  f.fd.reset();
  f.closed = true;
  return {};
}

Status TreeStage::commit() {
  for (size_t i = 0; i < files_.size(); ++i) VRAMSNAP_TRY(close_file(i));
  if (files_.size() > kSyncEachUpTo && ::syncfs(stagefd_.get()) != 0)
    return errno_error(ErrorKind::IO, dir_, "syncfs", errno);
  // Deepest directories first, then the staging directory itself.
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    std::string leaf;
    VRAMSNAP_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(*it + "/x", false, &leaf));
    VRAMSNAP_TRY(fsync_directory_fd(parent.get(), dir_ + "/" + *it));
  }
  VRAMSNAP_TRY(fsync_directory_fd(stagefd_.get(), dir_));
  for (size_t i = 0; i < tops_.size(); ++i) {
    const std::string shown = dir_ + "/" + tops_[i];
    VRAMSNAP_ASSIGN_OR_RETURN(bool moved, rename_noreplace(stagefd_.get(), tops_[i], dirfd_.get(), tops_[i], shown));
    if (!moved) return Error(ErrorKind::IO, shown + " exists; refusing to overwrite it");
    moved_[i] = true;
  }
  VRAMSNAP_TRY(fsync_directory_fd(dirfd_.get(), dir_));
  committed_ = true;
  return {};
}

}  // namespace vramsnap::io
