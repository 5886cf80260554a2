#pragma once
// Sealing keys. Key material stays inside the library, is wiped when the last
// handle goes away, and is never printed: only the key id is. A Key is a
// handle whose type says which seal algorithms it can make or check.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"

namespace vramsnap {

namespace crypto { class Key; }

// What a key is. Open: later versions may add key types.
enum class KeyType {
  Secret = 0,          // 32 secret bytes; makes and checks HMAC-SHA256 seals
  Ed25519Private = 1,  // an Ed25519 signing key; makes and checks Ed25519 seals
  Ed25519Public = 2,   // an Ed25519 public key; checks Ed25519 seals, never seals
};

// Name of a key type: "hmac-sha256", "ed25519-private", "ed25519-public".
VRAMSNAP_API const char* key_type_name(KeyType type);

class VRAMSNAP_API Key {
 public:
  // Reads a secret key file (mode 0600 or stricter, owned by the caller, not
  // a symbolic link): 32 bytes (an HMAC key) or a PEM PKCS#8 Ed25519 private
  // key. A public key file is refused: it cannot seal.
  static Result<Key> load(const std::string& path);
  // Reads a PEM (SubjectPublicKeyInfo) Ed25519 public key file (owned by the
  // caller or root, not writable by group or others). HMAC keys, private keys
  // and OpenSSH keys are refused.
  static Result<Key> load_public(const std::string& path);
  // The given path if any, else $VRAMSNAP_KEY_FILE, else
  // $CREDENTIALS_DIRECTORY/vramsnap.key.
  static Result<Key> resolve(const std::optional<std::string>& key_file);
  // The public keys a host trusts: the given files and the "*.pub" files of
  // the given directory; when none is given, $VRAMSNAP_PUBKEY_FILE (paths
  // separated by ':') and $VRAMSNAP_TRUSTED_KEYS (a directory); when neither
  // is set, $CREDENTIALS_DIRECTORY/vramsnap.pub if present. Empty if none.
  static Result<std::vector<Key>> resolve_public(const std::vector<std::string>& files,
                                                 const std::optional<std::string>& directory);
  // Creates a new HMAC key file (O_EXCL, mode 0600). Returns the key id.
  static Result<std::string> generate(const std::string& path);
  // Creates an Ed25519 key pair: private_path (PEM PKCS#8, mode 0600) and
  // public_path (PEM, mode 0644); neither may exist. Returns the key id.
  static Result<std::string> generate_ed25519(const std::string& private_path, const std::string& public_path);
  // Where keygen puts the public key: "deploy.key" -> "deploy.pub", else path + ".pub".
  static std::string public_path_for(const std::string& private_path);
  // From raw bytes (exactly 32), for hosts that keep keys in a secret store.
  static Result<Key> from_bytes(const void* data, size_t size);
  // An Ed25519 private key from its 32-byte seed (RFC 8032), likewise.
  static Result<Key> ed25519_from_seed(const void* data, size_t size);

  std::string id_hex() const;
  KeyType type() const;
  bool can_seal() const { return type() != KeyType::Ed25519Public; }
  // The public key of an Ed25519 key (Usage error for an HMAC key).
  Result<Key> public_key() const;

 private:
  explicit Key(std::shared_ptr<const crypto::Key> k) : impl_(std::move(k)) {}
  std::shared_ptr<const crypto::Key> impl_;
  friend struct KeyAccess;  // the library's own view of the key (crypto/key_access.h)
};

}  // namespace vramsnap
