// Opening, judging and creating key files (io/key_file.h).
#include "io/key_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "io/unique_fd.h"

namespace vramsnap::io {
namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

// Paths go into commands the operator may paste; quote them when the shell
// would split or expand them.
std::string shell_arg(const std::string& s) {
  static constexpr const char* kSafe =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+:=@%,";
  if (!s.empty() && s.find_first_not_of(kSafe) == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Error symlink_error(const std::string& path) {
  return make_error(ErrorKind::Usage, fmt::format("key file {} is a symbolic link; name the file itself (a link "
                                                  "can be redirected to another key)", path));
}

// Owner and mode rules shared by key files and the trusted-keys directory.
Status judge_owner_and_mode(const std::string& path, const struct stat& st, const KeyFileRules& rules,
                            const char* noun) {
  const uid_t me = ::geteuid();
  const bool credential = rules.origin == KeyOrigin::SystemdCredential;
  const bool owner_ok = st.st_uid == me || ((credential || rules.secrecy == KeySecrecy::Public) && st.st_uid == 0);
  if (!owner_ok) {
    return make_error(ErrorKind::Usage,
                      fmt::format("{} {} is owned by uid {}, not by you (uid {}); run vramsnap as uid {}, "
                                  "or as root: chown {} {}",
                                  noun, path, st.st_uid, me, st.st_uid, me, shell_arg(path)));
  }
  const bool secret = rules.secrecy == KeySecrecy::Secret;
  const mode_t forbidden = secret ? (credential ? 007 : 077) : (credential ? 002 : 022);
  if ((st.st_mode & forbidden) != 0) {
    const char* who = credential ? "others" : "group or others";
    const char* how = secret ? ((st.st_mode & forbidden & 0444) != 0 ? "readable" : "writable or executable")
                             : "writable";
    const unsigned fix = S_ISDIR(st.st_mode) ? 755 : (secret ? 600 : 644);
    return make_error(ErrorKind::Usage, fmt::format("{} {} is {} by {} (mode {:04o}); run: chmod {} {}", noun, path,
                                                    how, who, st.st_mode & 07777, fix, shell_arg(path)));
  }
  return {};
}

// Returns 0 or the errno of the failed write.
int write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

// Makes a new directory entry durable. EINVAL: the file system cannot fsync
// a directory, which is as good as it gets there.
Status fsync_parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return make_error(ErrorKind::IO, fmt::format("cannot open directory {}: {}", dir, errno_text(errno)));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return make_error(ErrorKind::IO, fmt::format("cannot fsync directory {}: {}", dir, errno_text(errno)));
  }
  return {};
}

}  // namespace

SecretBytes::SecretBytes(SecretBytes&& o) noexcept : b_(std::move(o.b_)) { o.b_.clear(); }
SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    OPENSSL_cleanse(b_.data(), b_.size());
    b_ = std::move(o.b_);
    o.b_.clear();
  }
  return *this;
}
SecretBytes::~SecretBytes() { OPENSSL_cleanse(b_.data(), b_.size()); }
void SecretBytes::resize(size_t n) {
  if (n < b_.size()) OPENSSL_cleanse(b_.data() + n, b_.size() - n);
  b_.resize(n);
}

Result<SecretBytes> read_key_file(const std::string& path, const KeyFileRules& rules) {
  // O_NONBLOCK so a FIFO cannot hang the open; it is refused by fstat below.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW));
  if (!fd) {
    if (errno == ELOOP) return symlink_error(path);
    return make_error(ErrorKind::IO, fmt::format("cannot open key file {}: {}", path, errno_text(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return make_error(ErrorKind::IO, fmt::format("cannot stat key file {}: {}", path, errno_text(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::Usage,
                      fmt::format("key file {} is {}; {}", path, file_type_name(st.st_mode), rules.what));
  }
  if (!rules.classify) VRAMSNAP_TRY(judge_owner_and_mode(path, st, rules, "key file"));
  if (static_cast<uint64_t>(st.st_size) > rules.max_size) {
    return make_error(ErrorKind::Usage, fmt::format("key file {} has {} bytes, more than any vramsnap key file ({})",
                                                    path, st.st_size, rules.what));
  }
  // One spare byte so a file that grew after fstat is caught, not truncated.
  const size_t expected = static_cast<size_t>(st.st_size);
  SecretBytes buf(expected + 1);
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorKind::IO, fmt::format("cannot read key file {}: {}", path, errno_text(errno)));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != expected) {
    return make_error(ErrorKind::IO, fmt::format("key file {} changed while being read ({} bytes read, expected {})",
                                                 path, got, expected));
  }
  buf.resize(expected);
  if (rules.classify) {
    KeyFileRules judged = rules;
    judged.secrecy = rules.classify(buf.view());
    VRAMSNAP_TRY(judge_owner_and_mode(path, st, judged, "key file"));
  }
  return buf;
}

Status create_key_file(const std::string& path, std::span<const uint8_t> bytes, unsigned mode) {
  // O_EXCL|O_NOFOLLOW: never replace a key, never write through a planted symlink.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) {
    if (errno == EEXIST) {
      return make_error(ErrorKind::IO, fmt::format("{} exists; refusing to overwrite a key (remove it first if you "
                                                   "really mean to replace it)", path));
    }
    return make_error(ErrorKind::IO, fmt::format("cannot create key file {}: {}", path, errno_text(errno)));
  }
  // From here on a failure removes the file: a partial key must not survive
  // to be mistaken for a good one (and would block the retry).
  auto fail = [&](const char* what, int err) -> Error {
    fd.reset();
    ::unlink(path.c_str());
    return make_error(ErrorKind::IO, fmt::format("cannot {} key file {}: {}", what, path, errno_text(err)));
  };
  // The umask can only narrow the mode; set it exactly so the result does not
  // depend on the caller's umask.
  if (::fchmod(fd.get(), mode) != 0) return fail("set the mode of", errno);
  if (int err = write_all(fd.get(), bytes.data(), bytes.size()); err != 0) return fail("write", err);
  if (::fsync(fd.get()) != 0) return fail("fsync", errno);
  if (::close(fd.release()) != 0) return fail("close", errno);
  if (Status d = fsync_parent_dir(path); !d.ok()) {
    ::unlink(path.c_str());
    return make_error(ErrorKind::IO, fmt::format("key file {} removed again: {}", path, d.error().message()));
  }
  return {};
}

void remove_created_file(const std::string& path) { ::unlink(path.c_str()); }

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Result<std::vector<std::string>> list_key_directory(const std::string& dir, const std::string& suffix) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ELOOP)
      return make_error(ErrorKind::Usage, fmt::format("trusted-keys directory {} is a symbolic link; name the "
                                                      "directory itself", dir));
    return make_error(ErrorKind::IO, fmt::format("cannot open trusted-keys directory {}: {}", dir, errno_text(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return make_error(ErrorKind::IO, fmt::format("cannot stat trusted-keys directory {}: {}", dir, errno_text(errno)));
  KeyFileRules rules;
  rules.secrecy = KeySecrecy::Public;
  VRAMSNAP_TRY(judge_owner_and_mode(dir, st, rules, "trusted-keys directory"));
  DIR* d = ::fdopendir(fd.get());
  if (!d) return make_error(ErrorKind::IO, fmt::format("cannot list {}: {}", dir, errno_text(errno)));
  fd.release();  // owned by d now
  std::vector<std::string> names;
  while (const struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > suffix.size() && name[0] != '.' &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace vramsnap::io
