// Renames that never replace: the one implementation behind AtomicOutput's
// commit and the extract staging directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "io/file.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

namespace vramsnap::io {

Result<bool> rename_noreplace(int olddirfd, const std::string& oldname, int newdirfd, const std::string& newname,
                        const std::string& display_path) {
  const char* from = oldname.c_str();
  const char* to = newname.c_str();
#ifdef SYS_renameat2
  // Via syscall(): older libcs lack a renameat2 wrapper.
  if (::syscall(SYS_renameat2, olddirfd, from, newdirfd, to, RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    return errno_error(ErrorKind::IO, display_path, "cannot rename into place", errno);
#endif
  // No RENAME_NOREPLACE on this filesystem: link() also refuses an existing
  // name atomically; the old name is dropped afterwards.
  if (::linkat(olddirfd, from, newdirfd, to, 0) == 0) {
    (void)::unlinkat(olddirfd, from, 0);
    return true;
  }
  if (errno == EEXIST) return false;
  if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS && errno != EMLINK)
    return errno_error(ErrorKind::IO, display_path, "cannot link into place", errno);
  // No hard links either (FAT, some FUSE): check-then-rename is the best
  // this filesystem allows.
  struct stat st {};
  if (::fstatat(newdirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) return false;
  if (::renameat(olddirfd, from, newdirfd, to) != 0)
    return errno_error(ErrorKind::IO, display_path, "cannot rename into place", errno);
  return true;
}

Status rename_replace(int olddirfd, const std::string& oldname, int newdirfd, const std::string& newname,
                      const std::string& display_path) {
  if (::renameat(olddirfd, oldname.c_str(), newdirfd, newname.c_str()) != 0)
    return errno_error(ErrorKind::IO, display_path, "cannot rename into place", errno);
  return {};
}

}  // namespace vramsnap::io
