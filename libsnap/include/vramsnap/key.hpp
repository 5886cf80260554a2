#pragma once
// Sealing keys. Key material stays inside the library, is wiped when the last
// handle goes away, and is never printed: only the key id is. A Key is a
// handle whose type says which seal algorithms it can make or check.
#include <memory>
#include <optional>
#include <string>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"

namespace vramsnap {

namespace crypto { class Key; }

// What a key is. Open: later versions add key types (such as a signing key
// and its public verifying key).
enum class KeyType {
  Secret = 0,  // 32 secret bytes; makes and checks HMAC-SHA256 seals
};

class VRAMSNAP_API Key {
 public:
  // Reads a key file (mode 0600 or stricter, owned by the caller, 32 bytes).
  static Result<Key> load(const std::string& path);
  // --key-file if given, else $VRAMSNAP_KEY_FILE, else
  // $CREDENTIALS_DIRECTORY/vramsnap.key.
  static Result<Key> resolve(const std::optional<std::string>& key_file);
  // Creates a new key file (O_EXCL, mode 0600). Returns the key id.
  static Result<std::string> generate(const std::string& path);
  // From raw bytes (exactly 32), for hosts that keep keys in a secret store.
  static Result<Key> from_bytes(const void* data, size_t size);

  std::string id_hex() const;
  KeyType type() const;

 private:
  explicit Key(std::shared_ptr<const crypto::Key> k) : impl_(std::move(k)) {}
  std::shared_ptr<const crypto::Key> impl_;
  friend struct KeyAccess;  // the library's own view of the key (crypto/key_access.h)
};

}  // namespace vramsnap
