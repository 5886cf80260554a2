#pragma once
// Key files: the one place that opens, judges and creates them. A key file is
// judged by the file actually opened (fstat, never the name), is never
// followed through a symbolic link, and is read whole into a buffer that is
// wiped when it goes away. Messages name the file and the fix, never bytes of it.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"

namespace vramsnap::io {

// Bytes that are wiped (OPENSSL_cleanse) when destroyed.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : b_(n) {}
  SecretBytes(SecretBytes&& o) noexcept;
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();
  std::span<const uint8_t> view() const { return b_; }
  uint8_t* data() { return b_.data(); }
  size_t size() const { return b_.size(); }
  void resize(size_t n);  // wipes what a shrink drops

 private:
  std::vector<uint8_t> b_;
};

// Where a key file came from decides how strictly its metadata is judged.
enum class KeyOrigin {
  Operator,           // named by a flag or an environment variable: must be ours
  SystemdCredential,  // root-owned, mode 0400, read access granted by an ACL
                      // (which shows up as group bits); the directory is private
};

// What the file holds decides which mode bits are refused.
enum class KeySecrecy {
  Secret,  // private: readable by the owner only (mode & 077 refused; 007 for credentials)
  Public,  // not secret but trusted: writable by the owner only (mode & 022; 002 for credentials)
};

struct KeyFileRules {
  KeyOrigin origin = KeyOrigin::Operator;
  KeySecrecy secrecy = KeySecrecy::Secret;
  size_t max_size = 0;  // larger files are refused before reading
  const char* what = "a key file is a regular file";  // said when the file is not regular
  // When set, the mode is judged after reading, by what the bytes are (so a
  // public key named where a secret is expected gets the message about that).
  KeySecrecy (*classify)(std::span<const uint8_t> bytes) = nullptr;
};

// Opens with O_NOFOLLOW|O_NONBLOCK and checks: a regular file (not a link),
// owned by the effective uid (or root, for credentials), mode per secrecy, at
// most max_size bytes; then reads it whole, catching a file that changes
// while being read. Usage errors for what the operator must fix, IO otherwise.
Result<SecretBytes> read_key_file(const std::string& path, const KeyFileRules& rules);

// Creates path with O_CREAT|O_EXCL|O_NOFOLLOW, exactly `mode`, writes bytes,
// fsyncs file and directory. Refuses to replace anything (IO). On any
// failure after creation the file is removed, so no partial key survives.
Status create_key_file(const std::string& path, std::span<const uint8_t> bytes, unsigned mode);

// Removes a file this process just created (undoing create_key_file when a
// later step of the same operation fails).
void remove_created_file(const std::string& path);

// true when something (a file, a link, anything) exists at path.
bool path_exists(const std::string& path);

// The names ending in `suffix` in a directory of trusted keys, sorted. The
// directory itself is judged like a public key file (ours or root's, not
// writable by group or others, not a symbolic link), since adding a file to
// it adds a trusted key.
Result<std::vector<std::string>> list_key_directory(const std::string& dir, const std::string& suffix);

}  // namespace vramsnap::io
