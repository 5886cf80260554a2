#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "io/file.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

namespace vramsnap::io {

Status rename_noreplace(int olddirfd, const std::string& oldname, int newdirfd, const std::string& newname,
                        const std::string& display_path) {
  long r = ::syscall(SYS_renameat2, olddirfd, oldname.c_str(), newdirfd, newname.c_str(), RENAME_NOREPLACE);
  if (r == 0) return {};
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // No RENAME_NOREPLACE here: link() fails on an existing name just the same.
    if (::linkat(olddirfd, oldname.c_str(), newdirfd, newname.c_str(), 0) == 0) {
      ::unlinkat(olddirfd, oldname.c_str(), 0);
      return {};
    }
    err = errno;
  }
  if (err == EEXIST) return Error(ErrorKind::IO, display_path + " exists; refusing to overwrite it");
  return errno_error(ErrorKind::IO, display_path, "rename", err);
}

}  // namespace vramsnap::io
