#pragma once
// Keys: a 32-byte HMAC secret, an Ed25519 private key (signs and checks) or
// an Ed25519 public key (checks only). A key never appears on argv, in the
// environment, in logs or in error messages; only its key id does.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "crypto/ed25519.h"
#include "vramsnap/error.hpp"

namespace vramsnap {
enum class KeyType;  // vramsnap/key.hpp
}

namespace vramsnap::crypto {

inline constexpr size_t kKeySize = 32;
using KeyId = std::array<uint8_t, 8>;

// HMAC key id: first 8 bytes of SHA-256("vramsnap/v1/key-id" NUL || key).
// Ed25519 key id: first 8 bytes of SHA-256("vramsnap/v1/key-id/ed25519" NUL ||
// public key). Shown as 16 lowercase hex digits.
std::string key_id_hex(const KeyId& id);
KeyId ed25519_key_id(const Ed25519Public& pub);

class Key {
 public:
  Key(Key&& other) noexcept;
  Key& operator=(Key&& other) noexcept;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key();  // OPENSSL_cleanse; EVP_PKEY_free wipes its own

  // Reads a secret key file: 32 bytes (HMAC) or a PEM Ed25519 private key.
  // Refused (kind Usage or IO, message names the file and the fix, never the
  // key): missing, a symbolic link, not a regular file, owned by another user
  // than the effective uid, group/world accessible (mode & 077), empty, of
  // another size, an encrypted or non-Ed25519 PEM key, or a public key.
  static Result<Key> load(const std::string& path);

  // Reads a PEM Ed25519 public key file (ours or root's, not writable by
  // group or others). An HMAC key file, a private key and OpenSSH keys are
  // refused (Usage), each with its own message.
  static Result<Key> load_public(const std::string& path);

  // Where a command finds its secret key: explicit path, else
  // $VRAMSNAP_KEY_FILE (a path), else $CREDENTIALS_DIRECTORY/vramsnap.key.
  // Usage error naming all three when none is set.
  static Result<Key> resolve(const std::optional<std::string>& key_file);

  // Where a command finds the public keys it trusts: the files and directory
  // given, else $VRAMSNAP_PUBKEY_FILE (paths separated by ':') and
  // $VRAMSNAP_TRUSTED_KEYS (a directory), else $CREDENTIALS_DIRECTORY/vramsnap.pub.
  // A directory contributes every "*.pub" in it. Empty when none is configured.
  static Result<std::vector<Key>> resolve_public(const std::vector<std::string>& files,
                                                 const std::optional<std::string>& dir);

  static Key from_bytes(std::span<const uint8_t, kKeySize> bytes);   // HMAC; tests, embedding
  static Key ed25519_from_seed(std::span<const uint8_t, 32> seed);    // private; tests, embedding
  static Key ed25519_public_from_raw(std::span<const uint8_t, kEd25519PublicSize> raw);
  static Key ed25519_from_pkey(Pkey private_key, const KeyId& id);  // id: ed25519_key_id of its public half

  KeyType type() const { return type_; }
  const KeyId& id() const { return id_; }
  std::string id_hex() const { return key_id_hex(id_); }
  // The HMAC secret (type Secret only).
  std::span<const uint8_t, kKeySize> bytes() const { return std::span<const uint8_t, kKeySize>(bytes_); }
  // The Ed25519 key (types Ed25519Private and Ed25519Public only).
  EVP_PKEY* pkey() const { return pkey_.get(); }
  // The public half of an Ed25519 private key (or a copy of a public key).
  Key public_key() const;

 private:
  Key() = default;
  KeyType type_{};  // Secret
  std::array<uint8_t, kKeySize> bytes_{};
  KeyId id_{};
  Pkey pkey_;
};

// Creates a new HMAC key file with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, 32
// bytes from RAND_bytes, fsynced (file and directory). Refuses to overwrite (IO).
Result<KeyId> generate_key_file(const std::string& path);

// Creates an Ed25519 key pair: the private key (PKCS#8 PEM, mode 0600) and the
// public key (SubjectPublicKeyInfo PEM, mode 0644). Neither may exist; if the
// second cannot be written the first is removed again.
Result<KeyId> generate_ed25519_key_files(const std::string& private_path, const std::string& public_path);

// "deploy.key" -> "deploy.pub"; any other name gets ".pub" appended.
std::string public_key_path(const std::string& private_path);

// HMAC-SHA256 over the concatenation of parts (EVP_MAC).
Digest hmac_sha256(const Key& key, std::initializer_list<std::span<const uint8_t>> parts);

}  // namespace vramsnap::crypto
