#include "io/fs_query.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "io/file.h"
#include "io/unique_fd.h"

namespace vramsnap::io {

Result<uint64_t> available_bytes(const std::string& path) {
  std::string at = path.empty() ? std::string(".") : path;
  for (;;) {
    struct statvfs fs {};
    if (::statvfs(at.c_str(), &fs) == 0) {
      const unsigned __int128 room = static_cast<unsigned __int128>(fs.f_bavail) * fs.f_frsize;
      return room > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(room);
    }
    if (errno != ENOENT || at == "." || at == "/") return errno_error(ErrorKind::IO, at, "statvfs", errno);
    // Not there yet: ask its parent ("a/b/c" -> "a/b", "a" -> ".").
    while (at.size() > 1 && at.back() == '/') at.pop_back();
    const size_t slash = at.rfind('/');
    if (slash == std::string::npos) at = ".";
    else if (slash == 0) at = "/";
    else at.resize(slash);
  }
}

Result<bool> holds_bytes_past(const std::string& path, uint64_t size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return errno_error(ErrorKind::IO, path, "cannot open", errno);
  uint8_t byte;
  ssize_t n;
  do {
    n = ::pread(fd.get(), &byte, 1, static_cast<off_t>(size));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error(ErrorKind::IO, path, "read", errno);
  return n > 0;
}

}  // namespace vramsnap::io
