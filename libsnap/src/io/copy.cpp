// Whole-file copy into an atomic output (io/file.h copy_file_into): how
// `seal` rewrites a snapshot whose header and trailer change, without
// reading gigabytes through user space where the kernel can avoid it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "io/file.h"

namespace vramsnap::io {
namespace {

constexpr size_t kStep = size_t{1} << 30;
constexpr size_t kBuffer = size_t{4} << 20;

Status copy_by_reads(const InputFile& in, AtomicOutput& out, uint64_t from) {
  std::vector<uint8_t> buf(kBuffer);
  for (uint64_t at = from; at < in.size();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), in.size() - at));
    VRAMSNAP_TRY(in.read_exact({buf.data(), n}, at));
    VRAMSNAP_TRY(out.write_at({buf.data(), n}, at));
    at += n;
  }
  return {};
}

}  // namespace

Status copy_file_into(const InputFile& in, AtomicOutput& out) {
  uint64_t done = 0;
  while (done < in.size()) {
    loff_t src = static_cast<loff_t>(done), dst = static_cast<loff_t>(done);
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kStep, in.size() - done));
    const ssize_t n = ::copy_file_range(in.fd(), &src, out.fd(), &dst, want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      VRAMSNAP_TRY(copy_by_reads(in, out, done));
      done = in.size();
      break;
    }
    if (n < 0) return errno_error(ErrorKind::IO, out.temp_path(), "copy_file_range", errno);
    if (n == 0) return make_error(ErrorKind::Format, in.path() + ": truncated while being copied");
    done += static_cast<uint64_t>(n);
  }
  struct stat st {};
  if (::fstat(in.fd(), &st) != 0) return errno_error(ErrorKind::IO, in.path(), "cannot stat", errno);
  if (::fchmod(out.fd(), st.st_mode & 07777) != 0) return errno_error(ErrorKind::IO, out.temp_path(), "fchmod", errno);
  return {};
}

}  // namespace vramsnap::io
