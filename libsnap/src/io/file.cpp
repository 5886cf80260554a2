#include "io/file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "core/checked_math.h"
#include "io/cleanup.h"
#include "io/fault.h"

namespace vramsnap::io {
namespace {

static_assert(sizeof(off_t) == 8, "64-bit file offsets required");
constexpr uint64_t kMaxOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
// Linux transfers at most ~2 GiB per call anyway; capping keeps every count
// well inside ssize_t.
constexpr size_t kMaxTransfer = size_t{1} << 30;

// strerror_r comes in a GNU (char*) and an XSI (int) flavour.
[[maybe_unused]] const char* strerror_result(const char* r, const char*) { return r; }
[[maybe_unused]] const char* strerror_result(int rc, const char* buf) { return rc == 0 ? buf : "unknown error"; }

std::string errno_text(int err) {
  char buf[256] = {};
  return strerror_result(strerror_r(err, buf, sizeof buf), buf);
}

const char* non_regular_kind(mode_t m) {
  if (S_ISDIR(m)) return "is a directory";
  if (S_ISFIFO(m)) return "is a FIFO";
  if (S_ISCHR(m)) return "is a character device";
  if (S_ISBLK(m)) return "is a block device";
  if (S_ISSOCK(m)) return "is a socket";
  return "is not a regular file";
}

Error not_regular(const std::string& path, mode_t m) {
  return make_error(ErrorKind::IO, path + ": " + non_regular_kind(m) + ", not a regular file");
}

// An output replaces a regular file or a symlink (never followed), nothing
// else: renaming over /dev/null or a FIFO would put a file where the system
// or another program expects the device.
Status replaceable(const std::string& path, mode_t m) {
  if (S_ISREG(m) || S_ISLNK(m)) return {};
  return make_error(ErrorKind::IO, path + ": " + non_regular_kind(m) +
                                       "; outputs are written to a temporary file renamed into place, which never "
                                       "replaces a device, FIFO or socket");
}

Error exists_error(const std::string& path) {
  return make_error(ErrorKind::IO, path + " exists and overwriting was not requested");
}

// O_NONBLOCK so that opening a FIFO cannot hang waiting for a writer; it is
// cleared again once fstat has proven the file regular.
Result<int> open_regular(const std::string& path, int access, uint64_t* size = nullptr) {
  int fd;
  do {
    fd = ::open(path.c_str(), access | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == EISDIR) return not_regular(path, S_IFDIR);
    return errno_error(ErrorKind::IO, path, "cannot open", errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error(ErrorKind::IO, path, "cannot stat", e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return not_regular(path, st.st_mode);
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error(ErrorKind::IO, path, "cannot clear O_NONBLOCK", e);
  }
  if (size != nullptr) *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

Error write_error(const std::string& path, uint64_t offset, int err) {
  if (err == ENOSPC) {
    return make_error(ErrorKind::IO,
                      path + ": no space left on device while writing at offset " + std::to_string(offset));
  }
  return errno_error(ErrorKind::IO, path, ("write at offset " + std::to_string(offset)).c_str(), err);
}

Status pwrite_all(int fd, std::span<const uint8_t> data, uint64_t offset, const std::string& path) {
  auto end = core::checked_add(offset, data.size());
  if (!end || *end > kMaxOffset) return write_error(path, offset, EFBIG);
  size_t done = 0;
  while (done < data.size()) {
    uint64_t at = offset + done;
    size_t want = std::min(data.size() - done, kMaxTransfer);
    int f = fault::before_write();
    if (f > 0) return write_error(path, at, f);
    if (f < 0) want = std::max<size_t>(1, want / 2);
    ssize_t n = ::pwrite(fd, data.data() + done, want, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error(path, at, errno);
    }
    // A zero-byte write for a non-zero request would otherwise spin forever.
    if (n == 0) return write_error(path, at, EIO);
    done += static_cast<size_t>(n);
  }
  return {};
}

struct PathParts {
  std::string dir;
  std::string base;
};

PathParts split_path(const std::string& p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return {".", p};
  return {slash == 0 ? std::string("/") : p.substr(0, slash), p.substr(slash + 1)};
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniqueness comes from O_EXCL; randomness only makes collisions (and retries)
// rare, so a counter-based fallback is fine when getrandom is unavailable.
std::string random_suffix() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  static std::atomic<uint64_t> counter{0};
  uint64_t bits = 0;
  if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits)) {
    struct timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    bits = splitmix64(counter.fetch_add(1, std::memory_order_relaxed) ^
                      (static_cast<uint64_t>(::getpid()) << 40) ^ static_cast<uint64_t>(ts.tv_nsec) ^
                      (static_cast<uint64_t>(ts.tv_sec) << 20));
  }
  std::string s(6, 'X');
  for (char& c : s) {
    c = kAlphabet[bits % (sizeof kAlphabet - 1)];
    bits /= (sizeof kAlphabet - 1);
  }
  return s;
}

// AtomicOutput has no room for the cleanup slot id, so it is looked up by
// temp path here.
std::mutex& slot_mutex() {
  static std::mutex mu;
  return mu;
}
std::unordered_map<std::string, int>& slot_of() {
  static std::unordered_map<std::string, int> map;
  return map;
}

void track_temp(const std::string& path) {
  int slot = register_temp_path(path);
  if (slot < 0) return;  // all slots taken: only interrupt cleanup is lost
  std::lock_guard<std::mutex> lock(slot_mutex());
  slot_of()[path] = slot;
}

void untrack_temp(const std::string& path) {
  std::lock_guard<std::mutex> lock(slot_mutex());
  auto it = slot_of().find(path);
  if (it == slot_of().end()) return;
  unregister_temp_path(it->second);
  slot_of().erase(it);
}

}  // namespace

Error errno_error(ErrorKind kind, const std::string& path, const char* what, int err) {
  return make_error(kind, path + ": " + what + ": " + errno_text(err));
}

// ---- InputFile ----

Result<InputFile> InputFile::open(const std::string& path) {
  uint64_t size = 0;
  VRAMSNAP_ASSIGN_OR_RETURN(int fd, open_regular(path, O_RDONLY, &size));
  return InputFile(fd, size, path);
}

InputFile::InputFile(InputFile&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), size_(std::exchange(o.size_, 0)), path_(std::move(o.path_)) {}

InputFile& InputFile::operator=(InputFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    size_ = std::exchange(o.size_, 0);
    path_ = std::move(o.path_);
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status InputFile::read_exact(std::span<uint8_t> dst, uint64_t offset) const {
  auto truncated = [&](uint64_t file_end) {
    return make_error(ErrorKind::Format, path_ + ": truncated: wanted " + std::to_string(dst.size()) +
                                             " bytes at offset " + std::to_string(offset) + ", file ends at " +
                                             std::to_string(file_end));
  };
  auto end = core::checked_add(offset, dst.size());
  if (!end || *end > kMaxOffset) return truncated(size_);
  size_t done = 0;
  while (done < dst.size()) {
    uint64_t at = offset + done;
    size_t want = std::min(dst.size() - done, kMaxTransfer);
    int f = fault::before_read();
    if (f > 0) return errno_error(ErrorKind::IO, path_, ("read at offset " + std::to_string(at)).c_str(), f);
    if (f < 0) want = std::max<size_t>(1, want / 2);
    ssize_t n = ::pread(fd_, dst.data() + done, want, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(ErrorKind::IO, path_, ("read at offset " + std::to_string(at)).c_str(), errno);
    }
    if (n == 0) {
      // Report the size now, not at open: the file may have shrunk since.
      struct stat st {};
      uint64_t file_end = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : at;
      return truncated(file_end);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

void InputFile::advise_sequential() const {
  // Hints only: failure changes speed, never results.
  (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

void InputFile::drop_cache() const { (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED); }

// ---- AtomicOutput ----

Status AtomicOutput::check(const std::string& final_path, bool overwrite) {
  if (final_path.empty()) return make_error(ErrorKind::IO, "output path is empty");
  const PathParts parts = split_path(final_path);
  if (parts.base.empty() || parts.base == "." || parts.base == "..") {
    return make_error(ErrorKind::IO, final_path + ": names a directory, not a file");
  }

  struct stat st {};
  if (::stat(parts.dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return make_error(ErrorKind::IO, final_path + ": directory " + parts.dir + " does not exist");
    }
    return errno_error(ErrorKind::IO, parts.dir, "cannot stat output directory", errno);
  }
  if (!S_ISDIR(st.st_mode)) return make_error(ErrorKind::IO, final_path + ": " + parts.dir + " is not a directory");

  // lstat: a symlink (even a dangling one) occupies the name.
  if (::lstat(final_path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return make_error(ErrorKind::IO, final_path + ": is a directory");
    if (!overwrite) return exists_error(final_path);  // early; commit re-checks atomically
    VRAMSNAP_TRY(replaceable(final_path, st.st_mode));
  } else if (errno != ENOENT) {
    return errno_error(ErrorKind::IO, final_path, "cannot stat", errno);
  }
  return {};
}

Result<AtomicOutput> AtomicOutput::create(const std::string& final_path, bool overwrite, unsigned mode) {
  VRAMSNAP_TRY(check(final_path, overwrite));
  const PathParts parts = split_path(final_path);
  // Keep the temp name within NAME_MAX however long the final name is.
  std::string stem = parts.base.substr(0, 200);
  std::string prefix = (parts.dir == "/" ? std::string("/") : parts.dir + "/") + "." + stem + ".vramsnap-";

  AtomicOutput out;
  out.overwrite_ = overwrite;
  out.final_path_ = final_path;
  {
    ScopedInterruptBlock block;
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string candidate = prefix + random_suffix();
      // open(O_CREAT|O_EXCL, mode) rather than mkostemp+fchmod: the kernel
      // applies the umask and default ACLs itself, with no process-wide
      // umask() juggling.
      int fd = ::open(candidate.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                      static_cast<mode_t>(mode & 07777));
      if (fd >= 0) {
        out.fd_ = fd;
        out.temp_path_ = std::move(candidate);
        track_temp(out.temp_path_);
        break;
      }
      if (errno == EEXIST || errno == EINTR) continue;
      return errno_error(ErrorKind::IO, final_path, "cannot create temporary file", errno);
    }
  }
  if (out.fd_ < 0) return make_error(ErrorKind::IO, final_path + ": cannot create temporary file: name collisions");
  return out;
}

AtomicOutput::AtomicOutput(AtomicOutput&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      overwrite_(o.overwrite_),
      committed_(o.committed_),
      final_path_(std::move(o.final_path_)),
      temp_path_(std::exchange(o.temp_path_, std::string())) {}

AtomicOutput& AtomicOutput::operator=(AtomicOutput&& o) noexcept {
  if (this != &o) {
    abandon();
    fd_ = std::exchange(o.fd_, -1);
    overwrite_ = o.overwrite_;
    committed_ = o.committed_;
    final_path_ = std::move(o.final_path_);
    temp_path_ = std::exchange(o.temp_path_, std::string());
  }
  return *this;
}

AtomicOutput::~AtomicOutput() { abandon(); }

Status AtomicOutput::write_at(std::span<const uint8_t> data, uint64_t offset) {
  if (fd_ < 0) return make_error(ErrorKind::IO, final_path_ + ": output is already closed");
  return pwrite_all(fd_, data, offset, final_path_);
}

Status AtomicOutput::commit() {
  if (committed_) return make_error(ErrorKind::IO, final_path_ + ": output is already committed");
  if (fd_ < 0) return make_error(ErrorKind::IO, final_path_ + ": output is already closed");

  VRAMSNAP_TRY(fsync_fd(fd_, final_path_));
  // close() can report deferred write errors (NFS); after it the temp file is
  // still removed by abandon() if anything below fails.
  int rc = ::close(std::exchange(fd_, -1));
  if (rc != 0 && errno != EINTR) return errno_error(ErrorKind::IO, final_path_, "close", errno);

  if (overwrite_) {
    // Checked again just before the rename: a device put there since create()
    // is refused too (a rename cannot be made conditional on the file type).
    struct stat st {};
    if (::lstat(final_path_.c_str(), &st) == 0) VRAMSNAP_TRY(replaceable(final_path_, st.st_mode));
    VRAMSNAP_TRY(rename_replace(AT_FDCWD, temp_path_, AT_FDCWD, final_path_, final_path_));
  } else {
    VRAMSNAP_ASSIGN_OR_RETURN(bool moved, rename_noreplace(AT_FDCWD, temp_path_, AT_FDCWD, final_path_, final_path_));
    if (!moved) return exists_error(final_path_);
  }
  committed_ = true;
  untrack_temp(temp_path_);
  return fsync_directory(split_path(final_path_).dir);
}

void AtomicOutput::abandon() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!committed_ && !temp_path_.empty()) {
    // Unlink before unregistering so an interrupt in between still cleans up.
    (void)::unlink(temp_path_.c_str());
    untrack_temp(temp_path_);
    temp_path_.clear();
  }
}

// ---- descriptor helpers ----

Result<int> open_for_update(const std::string& path) { return open_regular(path, O_RDWR); }

Status write_exact_fd(int fd, std::span<const uint8_t> data, uint64_t offset, const std::string& path) {
  return pwrite_all(fd, data, offset, path);
}

Status fsync_fd(int fd, const std::string& path) {
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return errno_error(ErrorKind::IO, path, "fsync", errno);
  return {};
}

}  // namespace vramsnap::io
