// The public vramsnap::Key: a shared handle to a crypto::Key, so key bytes
// exist once in memory and are wiped when the last handle goes away.
#include "crypto/key.h"
#include "crypto/key_access.h"
#include "vramsnap/key.hpp"

namespace vramsnap {

Result<Key> Key::load(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto k, crypto::Key::load(path));
  return KeyAccess::wrap(std::move(k));
}

Result<Key> Key::resolve(const std::optional<std::string>& key_file) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto k, crypto::Key::resolve(key_file));
  return KeyAccess::wrap(std::move(k));
}

Result<std::string> Key::generate(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto id, crypto::generate_key_file(path));
  return crypto::key_id_hex(id);
}

Result<Key> Key::from_bytes(const void* data, size_t size) {
  if (!data || size != crypto::kKeySize)
    return Error(ErrorKind::Usage, "a vramsnap key is exactly 32 bytes");
  std::span<const uint8_t, crypto::kKeySize> bytes(static_cast<const uint8_t*>(data), crypto::kKeySize);
  return KeyAccess::wrap(crypto::Key::from_bytes(bytes));
}

std::string Key::id_hex() const { return impl_->id_hex(); }

KeyType Key::type() const { return impl_->type(); }

}  // namespace vramsnap
