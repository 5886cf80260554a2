// The public vramsnap::Key: a shared handle to a crypto::Key, so key bytes
// exist once in memory and are wiped when the last handle goes away.
#include "crypto/key.h"
#include "crypto/key_access.h"
#include "vramsnap/key.hpp"

namespace vramsnap {

const char* key_type_name(KeyType type) {
  switch (type) {
    case KeyType::Secret: return "hmac-sha256";
    case KeyType::Ed25519Private: return "ed25519-private";
    case KeyType::Ed25519Public: return "ed25519-public";
  }
  return "unknown";
}

Result<Key> Key::load(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto k, crypto::Key::load(path));
  return KeyAccess::wrap(std::move(k));
}

Result<Key> Key::load_public(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto k, crypto::Key::load_public(path));
  return KeyAccess::wrap(std::move(k));
}

Result<Key> Key::resolve(const std::optional<std::string>& key_file) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto k, crypto::Key::resolve(key_file));
  return KeyAccess::wrap(std::move(k));
}

Result<std::vector<Key>> Key::resolve_public(const std::vector<std::string>& files,
                                             const std::optional<std::string>& directory) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto ks, crypto::Key::resolve_public(files, directory));
  std::vector<Key> out;
  for (auto& k : ks) out.push_back(KeyAccess::wrap(std::move(k)));
  return out;
}

Result<std::string> Key::generate(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto id, crypto::generate_key_file(path));
  return crypto::key_id_hex(id);
}

Result<std::string> Key::generate_ed25519(const std::string& private_path, const std::string& public_path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto id, crypto::generate_ed25519_key_files(private_path, public_path));
  return crypto::key_id_hex(id);
}

std::string Key::public_path_for(const std::string& private_path) { return crypto::public_key_path(private_path); }

Result<Key> Key::from_bytes(const void* data, size_t size) {
  if (!data || size != crypto::kKeySize)
    return Error(ErrorKind::Usage, "a vramsnap key is exactly 32 bytes");
  std::span<const uint8_t, crypto::kKeySize> bytes(static_cast<const uint8_t*>(data), crypto::kKeySize);
  return KeyAccess::wrap(crypto::Key::from_bytes(bytes));
}

Result<Key> Key::ed25519_from_seed(const void* data, size_t size) {
  if (!data || size != 32) return Error(ErrorKind::Usage, "an Ed25519 seed is exactly 32 bytes");
  std::span<const uint8_t, 32> seed(static_cast<const uint8_t*>(data), 32);
  return KeyAccess::wrap(crypto::Key::ed25519_from_seed(seed));
}

std::string Key::id_hex() const { return impl_->id_hex(); }

KeyType Key::type() const { return impl_->type(); }

Result<Key> Key::public_key() const {
  if (impl_->type() == KeyType::Secret)
    return Error(ErrorKind::Usage, "an HMAC key has no public key");
  return KeyAccess::wrap(impl_->public_key());
}

}  // namespace vramsnap
