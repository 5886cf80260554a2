#include "io/tree_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "io/file.h"
#include "io/unique_fd.h"

namespace vramsnap::io {
namespace {

const char* kind_of(mode_t m) {
  if (S_ISLNK(m)) return "a symbolic link (links are not captured; a link could point outside the tree)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISFIFO(m)) return "a FIFO";
  return "not a regular file or directory";
}

struct Walker {
  const std::string& root;
  const TreeLimits& limits;
  std::vector<TreeFile> out;

  Status walk(int dirfd, const std::string& rel, size_t depth) {
    if (depth > limits.max_depth)
      return Error(ErrorKind::Limit, root + "/" + rel + ": deeper than " + std::to_string(limits.max_depth) + " levels");
    // fdopendir takes the descriptor over; a dup keeps dirfd ours.
    const int fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return errno_error(ErrorKind::IO, root + "/" + rel, "dup", errno);
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return errno_error(ErrorKind::IO, root + "/" + rel, "opendir", errno);
    }
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
      errno = 0;
    }
    const int err = errno;
    ::closedir(d);
    if (err) return errno_error(ErrorKind::IO, root + "/" + rel, "readdir", err);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      const std::string child = rel.empty() ? n : rel + "/" + n;
      struct stat st {};
      if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno_error(ErrorKind::IO, root + "/" + child, "cannot stat", errno);
      if (S_ISDIR(st.st_mode)) {
        UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) return errno_error(ErrorKind::IO, root + "/" + child, "cannot open directory", errno);
        VRAMSNAP_TRY(walk(sub.get(), child, depth + 1));
      } else if (S_ISREG(st.st_mode)) {
        if (out.size() >= limits.max_files)
          return Error(ErrorKind::Limit, root + ": more than " + std::to_string(limits.max_files) + " files");
        out.push_back({child, static_cast<uint64_t>(st.st_size), static_cast<unsigned>(st.st_mode & 0777)});
      } else {
        return Error(ErrorKind::IO, root + "/" + child + ": is " + kind_of(st.st_mode) +
                                        "; a tree holds only regular files and directories");
      }
    }
    return {};
  }
};

}  // namespace

Result<std::vector<TreeFile>> list_tree(const std::string& dir, const TreeLimits& limits) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(ErrorKind::IO, dir, "cannot open directory", errno);
  Walker w{dir, limits, {}};
  VRAMSNAP_TRY(w.walk(fd.get(), "", 0));
  // Depth-first order with per-level sorting is not byte order of the full
  // paths ("a/b" vs "a.b"); sort once more so listings compare as strings.
  std::sort(w.out.begin(), w.out.end(), [](const TreeFile& a, const TreeFile& b) { return a.path < b.path; });
  return std::move(w.out);
}

}  // namespace vramsnap::io
