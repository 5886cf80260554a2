// Staged directory trees (see tree_stage.h); the staging directory itself is
// a StagingArea.
#include "io/tree_stage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "io/file.h"

namespace vramsnap::io {

Result<TreeStage> TreeStage::create(const std::string& dir) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto area, StagingArea::create(dir, "tree"));
  return TreeStage(std::move(area));
}

// The directory that holds `path`'s last segment, reached level by level
// from the staging directory without following links; with `create`, the
// missing levels are made (and remembered for fsync).
Result<UniqueFd> TreeStage::open_parent(const std::string& path, bool create, std::string* leaf) {
  UniqueFd cur(::fcntl(area_.stagefd(), F_DUPFD_CLOEXEC, 0));
  if (!cur) return errno_error(ErrorKind::IO, dir(), "dup", errno);
  size_t start = 0;
  for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1) {
    const std::string seg = path.substr(start, slash - start);
    if (create && ::mkdirat(cur.get(), seg.c_str(), 0755) == 0) {
      dirs_.push_back(path.substr(0, slash));
    } else if (create && errno != EEXIST) {
      return errno_error(ErrorKind::IO, dir() + "/" + path.substr(0, slash), "mkdir", errno);
    }
    UniqueFd next(::openat(cur.get(), seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return errno_error(ErrorKind::IO, dir() + "/" + path.substr(0, slash), "open directory", errno);
    cur = std::move(next);
  }
  *leaf = path.substr(start);
  return cur;
}

Result<size_t> TreeStage::add_file(const std::string& path, uint64_t size, unsigned mode) {
  const std::string top = path.substr(0, path.find('/'));
  if (std::find(tops_.begin(), tops_.end(), top) == tops_.end()) tops_.push_back(top);
  std::string leaf;
  VRAMSNAP_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(path, true, &leaf));
  UniqueFd fd(::openat(parent.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error(ErrorKind::IO, dir() + "/" + path, "create", errno);
  if (size && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    return errno_error(ErrorKind::IO, dir() + "/" + path, "ftruncate", errno);
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
      if (!f.fd) return errno_error(ErrorKind::IO, dir() + "/" + f.path, "open", errno);
    }
    fd = f.fd.get();
  }
  return write_exact_fd(fd, data, offset, dir() + "/" + files_[file].path);
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
    if (!f.fd) return errno_error(ErrorKind::IO, dir() + "/" + f.path, "open", errno);
  }
  // Many files are flushed with one syncfs at commit instead (StagingArea::sync_all).
  if (files_.size() <= kSyncEachUpTo) VRAMSNAP_TRY(fsync_fd(f.fd.get(), dir() + "/" + f.path));
  // fchmod, not the create mode: exact bits whatever the umask.
  if (::fchmod(f.fd.get(), static_cast<mode_t>(f.mode)) != 0)
    return errno_error(ErrorKind::IO, dir() + "/" + f.path, "chmod", errno);
  f.fd.reset();
  f.closed = true;
  return {};
}

Status TreeStage::commit() {
  for (size_t i = 0; i < files_.size(); ++i) VRAMSNAP_TRY(close_file(i));
  if (files_.size() > kSyncEachUpTo) VRAMSNAP_TRY(area_.sync_all());
  // Deepest directories first, then the staging directory itself.
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    std::string leaf;
    VRAMSNAP_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(*it + "/x", false, &leaf));
    VRAMSNAP_TRY(fsync_directory_fd(parent.get(), dir() + "/" + *it));
  }
  VRAMSNAP_TRY(fsync_directory_fd(area_.stagefd(), dir()));
  for (const auto& top : tops_) VRAMSNAP_TRY(area_.move_in(top));
  return area_.commit();
}

}  // namespace vramsnap::io
