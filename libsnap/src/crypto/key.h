#pragma once
// Sealing keys: 32 random bytes in a file of mode 0600. A key never appears on
// argv, in the environment, in logs or in error messages; only its key id does.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "crypto/digest.h"
#include "vramsnap/error.hpp"

namespace vramsnap {
enum class KeyType;  // vramsnap/key.hpp
}

namespace vramsnap::crypto {

inline constexpr size_t kKeySize = 32;
using KeyId = std::array<uint8_t, 8>;

// Key id: first 8 bytes of SHA-256("vramsnap/v1/key-id" NUL || key), shown as
// 16 lowercase hex digits.
std::string key_id_hex(const KeyId& id);

class Key {
 public:
  Key(Key&& other) noexcept;
  Key& operator=(Key&& other) noexcept;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key();  // OPENSSL_cleanse

  // Reads a key file. Refused (kind Usage or IO, message names the file and the
  // fix, never the key): missing, not a regular file, group/world accessible
  // (mode & 077), owned by another user than the effective uid, empty, or not
  // exactly 32 bytes.
  static Result<Key> load(const std::string& path);

  // Where a command finds its key: explicit --key-file, else $VRAMSNAP_KEY_FILE
  // (a path), else $CREDENTIALS_DIRECTORY/vramsnap.key. Usage error naming all
  // three when none is set.
  static Result<Key> resolve(const std::optional<std::string>& key_file);

  static Key from_bytes(std::span<const uint8_t, kKeySize> bytes);  // tests, embedding

  // Every key this class holds today is a 32-byte secret.
  KeyType type() const;
  const KeyId& id() const { return id_; }
  std::string id_hex() const { return key_id_hex(id_); }
  std::span<const uint8_t, kKeySize> bytes() const { return std::span<const uint8_t, kKeySize>(bytes_); }

 private:
  Key() = default;
  std::array<uint8_t, kKeySize> bytes_{};
  KeyId id_{};
};

// Creates a new key file with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, 32 bytes
// from RAND_bytes, fsynced (file and directory). Refuses to overwrite (IO).
Result<KeyId> generate_key_file(const std::string& path);

// HMAC-SHA256 over the concatenation of parts (EVP_MAC).
Digest hmac_sha256(const Key& key, std::initializer_list<std::span<const uint8_t>> parts);

}  // namespace vramsnap::crypto
