#pragma once
// Sealing keys (HMAC-SHA256, 32 bytes). Key material stays inside the
// library, is wiped when the last handle goes away, and is never printed:
// only the key id is.
#include <memory>
#include <optional>
#include <string>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"

namespace vramsnap {

namespace crypto { class Key; }

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
  const crypto::Key& impl() const { return *impl_; }

 private:
  explicit Key(std::shared_ptr<const crypto::Key> k) : impl_(std::move(k)) {}
  std::shared_ptr<const crypto::Key> impl_;
};

}  // namespace vramsnap
