// Secret keys: loading (HMAC secrets and Ed25519 private keys, told apart by
// their bytes), resolution from flag, environment or systemd credential, HMAC
// key generation, and the HMAC itself. Public keys live in key_public.cpp.
#include <initializer_list>

#include "crypto/key.h"
#include "vramsnap/key.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "io/key_file.h"

namespace vramsnap::crypto {
namespace {

constexpr const char* kCreateHint = "create one with: vramsnap keygen -o FILE";
constexpr const char* kSecretWhat =
    "a key file is a regular file of exactly 32 bytes (create one with: vramsnap keygen -o FILE)";
constexpr size_t kMaxKeyFileSize = 4096;  // a PEM Ed25519 key is about 120 bytes

KeyId truncated_id(const char* domain, size_t domain_size, std::span<const uint8_t> key) {
  Sha256 h;
  h.update({reinterpret_cast<const uint8_t*>(domain), domain_size});
  h.update(key);
  Digest d = h.finish();
  KeyId id{};
  std::memcpy(id.data(), d.data(), id.size());
  OPENSSL_cleanse(d.data(), d.size());
  return id;
}

KeyId derive_key_id(std::span<const uint8_t, kKeySize> key) {
  static constexpr char kDomain[] = "vramsnap/v1/key-id";  // sizeof keeps the NUL
  return truncated_id(kDomain, sizeof kDomain, key);
}

// Private keys are judged as secrets; a file that holds a public key is
// judged as one, so that the message about it is the useful one.
io::KeySecrecy secrecy_of(std::span<const uint8_t> bytes) {
  const auto c = classify_key_file(bytes);
  return c == KeyFileContent::PemPublic || c == KeyFileContent::OpenSshPublic ? io::KeySecrecy::Public
                                                                              : io::KeySecrecy::Secret;
}

// The loader behind load() and resolve(): an HMAC secret or an Ed25519
// private key, told apart by the bytes.
Result<Key> load_secret_key(const std::string& path, io::KeyOrigin origin) {
  io::KeyFileRules rules;
  rules.origin = origin;
  rules.max_size = kMaxKeyFileSize;
  rules.what = kSecretWhat;
  rules.classify = secrecy_of;
  VRAMSNAP_ASSIGN_OR_RETURN(auto bytes, io::read_key_file(path, rules));
  switch (classify_key_file(bytes.view())) {
    case KeyFileContent::HmacSecret:
      return Key::from_bytes(std::span<const uint8_t, kKeySize>(bytes.view().data(), kKeySize));
    case KeyFileContent::PemPrivate: {
      VRAMSNAP_ASSIGN_OR_RETURN(auto pkey, parse_private_pem(bytes.view(), path));
      const KeyId id = ed25519_key_id(raw_public(pkey.get()));
      return Key::ed25519_from_pkey(std::move(pkey), id);
    }
    case KeyFileContent::PemEncryptedPrivate:
      return make_error(ErrorKind::Usage, fmt::format("key file {} is encrypted; vramsnap reads unencrypted PKCS#8 "
                                                      "keys only (protect it with file permissions or an encrypted "
                                                      "systemd credential)", path));
    case KeyFileContent::PemPublic:
    case KeyFileContent::OpenSshPublic:
      return make_error(ErrorKind::Usage, fmt::format("key file {} holds a public key, which can check signatures "
                                                      "but never seal; sealing needs the private key", path));
    case KeyFileContent::Other:
      break;
  }
  if (bytes.size() == 0)
    return make_error(ErrorKind::Usage, fmt::format("key file {} is empty; a vramsnap key has exactly {} bytes ({})",
                                                    path, kKeySize, kCreateHint));
  return make_error(ErrorKind::Usage, fmt::format("key file {} has {} bytes; a vramsnap key has exactly {} ({})", path,
                                                  bytes.size(), kKeySize, kCreateHint));
}

}  // namespace

std::string key_id_hex(const KeyId& id) { return to_hex(id); }

KeyId ed25519_key_id(const Ed25519Public& pub) {
  static constexpr char kDomain[] = "vramsnap/v1/key-id/ed25519";  // sizeof keeps the NUL
  return truncated_id(kDomain, sizeof kDomain, pub);
}

Key::Key(Key&& other) noexcept
    : type_(other.type_), bytes_(other.bytes_), id_(other.id_), pkey_(std::move(other.pkey_)) {
  OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
  other.id_ = {};
}

Key& Key::operator=(Key&& other) noexcept {
  if (this != &other) {
    type_ = other.type_;
    bytes_ = other.bytes_;
    id_ = other.id_;
    pkey_ = std::move(other.pkey_);
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
    other.id_ = {};
  }
  return *this;
}

Key::~Key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

Key Key::from_bytes(std::span<const uint8_t, kKeySize> bytes) {
  Key key;
  std::memcpy(key.bytes_.data(), bytes.data(), kKeySize);
  key.id_ = derive_key_id(key.bytes());
  return key;
}

Key Key::ed25519_from_pkey(Pkey pkey, const KeyId& id) {
  Key key;
  key.type_ = KeyType::Ed25519Private;
  key.pkey_ = std::move(pkey);
  key.id_ = id;
  return key;
}

Key Key::ed25519_from_seed(std::span<const uint8_t, 32> seed) {
  Pkey pkey = private_from_seed(seed);
  const KeyId id = ed25519_key_id(raw_public(pkey.get()));
  return ed25519_from_pkey(std::move(pkey), id);
}

Key Key::ed25519_public_from_raw(std::span<const uint8_t, kEd25519PublicSize> raw) {
  Key key;
  key.type_ = KeyType::Ed25519Public;
  key.pkey_ = public_from_raw(raw);
  Ed25519Public pub{};
  std::memcpy(pub.data(), raw.data(), pub.size());
  key.id_ = ed25519_key_id(pub);
  return key;
}

Key Key::public_key() const {
  const Ed25519Public pub = raw_public(pkey_.get());
  return ed25519_public_from_raw(pub);
}

Result<Key> Key::load(const std::string& path) { return load_secret_key(path, io::KeyOrigin::Operator); }

Result<Key> Key::resolve(const std::optional<std::string>& key_file) {
  static constexpr const char* kNoKey =
      "no key given: no key file named, VRAMSNAP_KEY_FILE unset or empty, and no systemd credential "
      "vramsnap.key";
  if (key_file) {
    if (key_file->empty()) return make_error(ErrorKind::Usage, "the key file path is empty");
    return load_secret_key(*key_file, io::KeyOrigin::Operator);
  }
  // An empty variable counts as unset, as shells and systemd treat it.
  if (const char* env = std::getenv("VRAMSNAP_KEY_FILE"); env != nullptr && *env != '\0') {
    return load_secret_key(env, io::KeyOrigin::Operator);
  }
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds != nullptr && *creds != '\0') {
    const std::string path = std::string(creds) + "/vramsnap.key";
    // systemd sets CREDENTIALS_DIRECTORY for any credential; one without ours
    // means "no key", not an I/O failure.
    if (!io::path_exists(path)) {
      return make_error(ErrorKind::Usage, fmt::format("{} ($CREDENTIALS_DIRECTORY {} has no vramsnap.key)", kNoKey, creds));
    }
    return load_secret_key(path, io::KeyOrigin::SystemdCredential);
  }
  return make_error(ErrorKind::Usage, kNoKey);
}

Result<KeyId> generate_key_file(const std::string& path) {
  io::SecretBytes raw(kKeySize);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return make_error(ErrorKind::IO, "cannot generate a key: the OpenSSL random generator failed (RAND_bytes)");
  }
  VRAMSNAP_TRY(io::create_key_file(path, raw.view(), 0600));
  return derive_key_id(std::span<const uint8_t, kKeySize>(raw.view().data(), kKeySize));
}

namespace {
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
