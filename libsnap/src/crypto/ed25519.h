#pragma once
// Ed25519 through OpenSSL EVP (EVP_PKEY_ED25519, one-shot DigestSign and
// DigestVerify): key files in PEM (PKCS#8 private keys, SubjectPublicKeyInfo
// public keys, unencrypted, as `openssl genpkey -algorithm ed25519` and
// `openssl pkey -pubout` write them), key ids, signing and checking.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <openssl/evp.h>

#include "io/key_file.h"
#include "vramsnap/error.hpp"

namespace vramsnap::crypto {

inline constexpr size_t kEd25519PublicSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;
using Ed25519Signature = std::array<uint8_t, kEd25519SignatureSize>;
using Ed25519Public = std::array<uint8_t, kEd25519PublicSize>;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// What a key file's bytes are, judged before they are parsed.
enum class KeyFileContent { HmacSecret, PemPrivate, PemEncryptedPrivate, PemPublic, OpenSshPublic, Other };
KeyFileContent classify_key_file(std::span<const uint8_t> bytes);

// PEM "PRIVATE KEY" (PKCS#8) holding an Ed25519 key. Usage error naming path
// for anything else (another algorithm, damaged PEM).
Result<Pkey> parse_private_pem(std::span<const uint8_t> pem, const std::string& path);
// PEM "PUBLIC KEY" (SubjectPublicKeyInfo) holding an Ed25519 key.
Result<Pkey> parse_public_pem(std::span<const uint8_t> pem, const std::string& path);

// From a 32-byte seed (RFC 8032 private key), for embedding and tests.
Pkey private_from_seed(std::span<const uint8_t, 32> seed);
Pkey public_from_raw(std::span<const uint8_t, kEd25519PublicSize> raw);
Ed25519Public raw_public(EVP_PKEY* key);

// PEM text of a key (the private one in a wiping buffer).
io::SecretBytes private_pem(EVP_PKEY* key);
std::string public_pem(EVP_PKEY* key);

Pkey generate_ed25519();

// Ed25519 (pure, RFC 8032) over the concatenation of parts.
Ed25519Signature ed25519_sign(EVP_PKEY* key, std::initializer_list<std::span<const uint8_t>> parts);
bool ed25519_verify(EVP_PKEY* key, std::initializer_list<std::span<const uint8_t>> parts,
                    std::span<const uint8_t> signature);

}  // namespace vramsnap::crypto
