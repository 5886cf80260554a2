#include <initializer_list>

#include "crypto/key.h"
#include "vramsnap/key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace vramsnap::crypto {
namespace {

constexpr const char* kCreateHint = "create one with: vramsnap keygen -o FILE";

[[noreturn]] void openssl_fatal(const char* what) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  std::fprintf(stderr, "vramsnap: fatal: OpenSSL %s failed: %s\n", what, buf);
  std::abort();
}

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

KeyId derive_key_id(std::span<const uint8_t, kKeySize> key) {
  static constexpr char kDomain[] = "vramsnap/v1/key-id";  // sizeof keeps the NUL
  Sha256 h;
  h.update({reinterpret_cast<const uint8_t*>(kDomain), sizeof kDomain});
  h.update(key);
  Digest d = h.finish();
  KeyId id{};
  std::memcpy(id.data(), d.data(), id.size());
  OPENSSL_cleanse(d.data(), d.size());
  return id;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Where a key file came from decides how strictly its metadata is judged.
enum class Origin {
  Operator,           // --key-file or VRAMSNAP_KEY_FILE: must be ours and 0600/0400
  SystemdCredential,  // systemd writes these root-owned, mode 0400, and grants a
                      // User= service read access with an ACL (which shows up as
                      // group bits); the directory is private to the unit
};

// Reads a key file into `out` (exactly kKeySize bytes) after checking it.
Status read_key_file(const std::string& path, Origin origin, std::array<uint8_t, kKeySize>& out) {
  // O_NONBLOCK so a FIFO cannot hang the open; it is refused by fstat below.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    return make_error(ErrorKind::IO, fmt::format("cannot open key file {}: {}", path, errno_text(errno)));
  }
  // Judge the file actually opened, not the name (no stat/open race).
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return make_error(ErrorKind::IO, fmt::format("cannot stat key file {}: {}", path, errno_text(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::Usage,
                      fmt::format("key file {} is {}; a key file is a regular file of exactly {} bytes ({})", path,
                                  file_type_name(st.st_mode), kKeySize, kCreateHint));
  }
  const uid_t me = ::geteuid();
  const bool owner_ok = st.st_uid == me || (origin == Origin::SystemdCredential && st.st_uid == 0);
  if (!owner_ok) {
    return make_error(ErrorKind::Usage,
                      fmt::format("key file {} is owned by uid {}, not by you (uid {}); run vramsnap as uid {}, "
                                  "or as root: chown {} {}",
                                  path, st.st_uid, me, st.st_uid, me, shell_arg(path)));
  }
  const mode_t forbidden = origin == Origin::SystemdCredential ? 007 : 077;
  if ((st.st_mode & forbidden) != 0) {
    const char* who = origin == Origin::SystemdCredential ? "others" : "group or others";
    const char* how = (st.st_mode & forbidden & 0444) != 0 ? "readable" : "writable or executable";
    return make_error(ErrorKind::Usage, fmt::format("key file {} is {} by {} (mode {:04o}); run: chmod 600 {}", path,
                                                    how, who, st.st_mode & 07777, shell_arg(path)));
  }
  if (st.st_size == 0) {
    return make_error(ErrorKind::Usage, fmt::format("key file {} is empty; a vramsnap key has exactly {} bytes ({})",
                                                    path, kKeySize, kCreateHint));
  }
  if (st.st_size != static_cast<off_t>(kKeySize)) {
    return make_error(ErrorKind::Usage, fmt::format("key file {} has {} bytes; a vramsnap key has exactly {} ({})",
                                                    path, st.st_size, kKeySize, kCreateHint));
  }
  // One spare byte so a file that grew after fstat is caught, not truncated.
  std::array<uint8_t, kKeySize + 1> buf{};
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      OPENSSL_cleanse(buf.data(), buf.size());
      return make_error(ErrorKind::IO, fmt::format("cannot read key file {}: {}", path, errno_text(err)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != kKeySize) {
    OPENSSL_cleanse(buf.data(), buf.size());
    return make_error(ErrorKind::IO, fmt::format("key file {} changed while being read ({} bytes read, expected {})",
                                                 path, got, kKeySize));
  }
  std::memcpy(out.data(), buf.data(), kKeySize);
  OPENSSL_cleanse(buf.data(), buf.size());
  return {};
}

Result<Key> load_key(const std::string& path, Origin origin) {
  std::array<uint8_t, kKeySize> raw{};
  Status st = read_key_file(path, origin, raw);
  if (!st.ok()) return std::move(st).error();
  Key key = Key::from_bytes(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
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

// Makes the new directory entry durable. EINVAL: the file system cannot fsync
// a directory, which is as good as it gets there.
Status fsync_parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return make_error(ErrorKind::IO, fmt::format("cannot open directory {}: {}", dir, errno_text(errno)));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return make_error(ErrorKind::IO, fmt::format("cannot fsync directory {}: {}", dir, errno_text(errno)));
  }
  return {};
}

struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};

EVP_MAC* hmac_algorithm() {
  static const std::unique_ptr<EVP_MAC, MacFree> mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) openssl_fatal("EVP_MAC_fetch(HMAC)");
    return std::unique_ptr<EVP_MAC, MacFree>(m);
  }();
  return mac.get();
}

}  // namespace

std::string key_id_hex(const KeyId& id) { return to_hex(id); }

Key::Key(Key&& other) noexcept : bytes_(other.bytes_), id_(other.id_) {
  OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
  other.id_ = {};
}

Key& Key::operator=(Key&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    id_ = other.id_;
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
    other.id_ = {};
  }
  return *this;
}

Key::~Key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

KeyType Key::type() const { return KeyType::Secret; }

Key Key::from_bytes(std::span<const uint8_t, kKeySize> bytes) {
  Key key;
  std::memcpy(key.bytes_.data(), bytes.data(), kKeySize);
  key.id_ = derive_key_id(key.bytes());
  return key;
}

Result<Key> Key::load(const std::string& path) { return load_key(path, Origin::Operator); }

Result<Key> Key::resolve(const std::optional<std::string>& key_file) {
  static constexpr const char* kNoKey =
      "no key given: no key file named, VRAMSNAP_KEY_FILE unset or empty, and no systemd credential "
      "vramsnap.key";
  if (key_file) {
    if (key_file->empty()) return make_error(ErrorKind::Usage, "the key file path is empty");
    return load_key(*key_file, Origin::Operator);
  }
  // An empty variable counts as unset, as shells and systemd treat it.
  if (const char* env = std::getenv("VRAMSNAP_KEY_FILE"); env != nullptr && *env != '\0') {
    return load_key(env, Origin::Operator);
  }
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds != nullptr && *creds != '\0') {
    const std::string path = std::string(creds) + "/vramsnap.key";
    // systemd sets CREDENTIALS_DIRECTORY for any credential; one without ours
    // means "no key", not an I/O failure.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
      return make_error(ErrorKind::Usage, fmt::format("{} ($CREDENTIALS_DIRECTORY {} has no vramsnap.key)", kNoKey, creds));
    }
    return load_key(path, Origin::SystemdCredential);
  }
  return make_error(ErrorKind::Usage, kNoKey);
}

Result<KeyId> generate_key_file(const std::string& path) {
  std::array<uint8_t, kKeySize> raw{};
  // A wiping guard: every return below leaves no key bytes on the stack.
  struct Wipe {
    std::array<uint8_t, kKeySize>& b;
    ~Wipe() { OPENSSL_cleanse(b.data(), b.size()); }
  } wipe{raw};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return make_error(ErrorKind::IO, "cannot generate a key: the OpenSSL random generator failed (RAND_bytes)");
  }

  // O_EXCL|O_NOFOLLOW: never replace a key, never write through a planted symlink.
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return make_error(ErrorKind::IO, fmt::format("{} exists; refusing to overwrite a key (remove it first if you "
                                                   "really mean to replace it)", path));
    }
    return make_error(ErrorKind::IO, fmt::format("cannot create key file {}: {}", path, errno_text(errno)));
  }
  // From here on a failure removes the file: a partial key must not survive
  // to be mistaken for a good one (and would block the retry).
  auto fail = [&](const char* what, int err) -> Error {
    if (fd.get() >= 0) ::close(fd.release());
    ::unlink(path.c_str());
    return make_error(ErrorKind::IO, fmt::format("cannot {} key file {}: {}", what, path, errno_text(err)));
  };
  // The umask can only narrow 0600 (say to 0400); set it exactly so the result
  // does not depend on the caller's umask.
  if (::fchmod(fd.get(), 0600) != 0) return fail("set the mode of", errno);
  if (int err = write_all(fd.get(), raw.data(), raw.size()); err != 0) return fail("write", err);
  if (::fsync(fd.get()) != 0) return fail("fsync", errno);
  if (::close(fd.release()) != 0) return fail("close", errno);
  if (Status d = fsync_parent_dir(path); !d.ok()) {
    ::unlink(path.c_str());
    return make_error(ErrorKind::IO, fmt::format("key file {} removed again: {}", path, d.error().message()));
  }
  return derive_key_id(raw);
}

Digest hmac_sha256(const Key& key, std::initializer_list<std::span<const uint8_t>> parts) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
  if (ctx == nullptr) openssl_fatal("EVP_MAC_CTX_new");
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(ctx, key.bytes().data(), kKeySize, params) != 1) openssl_fatal("EVP_MAC_init");
  for (const auto& part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx, part.data(), part.size()) != 1) openssl_fatal("EVP_MAC_update");
  }
  Digest out{};
  size_t len = 0;
  if (EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size()) openssl_fatal("EVP_MAC_final");
  EVP_MAC_CTX_free(ctx);  // cleanses the keyed HMAC state
  return out;
}

}  // namespace vramsnap::crypto
