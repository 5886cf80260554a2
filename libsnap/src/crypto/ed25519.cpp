// Ed25519 keys and signatures over OpenSSL EVP (crypto/ed25519.h). Nothing
// here does curve arithmetic: OpenSSL does, through its one-shot API.
#include "crypto/ed25519.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "crypto/digest.h"

namespace vramsnap::crypto {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

bool starts_with(std::span<const uint8_t> b, std::string_view prefix) {
  return b.size() >= prefix.size() && std::memcmp(b.data(), prefix.data(), prefix.size()) == 0;
}

// No passphrase prompt, ever: an encrypted key is refused before this runs,
// and a key that still asks for one fails to parse.
int no_passphrase(char*, int, int, void*) { return 0; }

Result<Pkey> check_ed25519(EVP_PKEY* raw, const std::string& path, const char* what) {
  ERR_clear_error();
  if (!raw) return make_error(ErrorKind::Usage, fmt::format("key file {} is not a readable PEM {}", path, what));
  Pkey key(raw);
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
    return make_error(ErrorKind::Usage, fmt::format("key file {} holds a {} {}; vramsnap signs with Ed25519 only", path,
                                                    EVP_PKEY_get0_type_name(key.get()), what));
  return key;
}

std::vector<uint8_t> concat(std::initializer_list<std::span<const uint8_t>> parts) {
  std::vector<uint8_t> m;
  for (const auto& p : parts) m.insert(m.end(), p.begin(), p.end());
  return m;
}

}  // namespace

KeyFileContent classify_key_file(std::span<const uint8_t> b) {
  if (starts_with(b, "-----BEGIN PRIVATE KEY-----")) return KeyFileContent::PemPrivate;
  if (starts_with(b, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) return KeyFileContent::PemEncryptedPrivate;
  if (starts_with(b, "-----BEGIN PUBLIC KEY-----")) return KeyFileContent::PemPublic;
  if (starts_with(b, "ssh-ed25519 ")) return KeyFileContent::OpenSshPublic;
  if (b.size() == 32) return KeyFileContent::HmacSecret;
  return KeyFileContent::Other;
}

Result<Pkey> parse_private_pem(std::span<const uint8_t> pem, const std::string& path) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) openssl_fatal("BIO_new_mem_buf");
  return check_ed25519(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr), path, "private key");
}

Result<Pkey> parse_public_pem(std::span<const uint8_t> pem, const std::string& path) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) openssl_fatal("BIO_new_mem_buf");
  return check_ed25519(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr), path, "public key");
}

Pkey private_from_seed(std::span<const uint8_t, 32> seed) {
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (!k) openssl_fatal("EVP_PKEY_new_raw_private_key");
  return Pkey(k);
}

Pkey public_from_raw(std::span<const uint8_t, kEd25519PublicSize> raw) {
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (!k) openssl_fatal("EVP_PKEY_new_raw_public_key");
  return Pkey(k);
}

Ed25519Public raw_public(EVP_PKEY* key) {
  Ed25519Public out{};
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != out.size())
    openssl_fatal("EVP_PKEY_get_raw_public_key");
  return out;
}

io::SecretBytes private_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio) bio.reset(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    openssl_fatal("PEM_write_bio_PrivateKey");
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  io::SecretBytes out(static_cast<size_t>(n));
  std::memcpy(out.data(), p, out.size());
  return out;
}

std::string public_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) openssl_fatal("PEM_write_bio_PUBKEY");
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<size_t>(n));
}

Pkey generate_ed25519() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k) openssl_fatal("EVP_PKEY_Q_keygen(ED25519)");
  return Pkey(k);
}

Ed25519Signature ed25519_sign(EVP_PKEY* key, std::initializer_list<std::span<const uint8_t>> parts) {
  const std::vector<uint8_t> msg = concat(parts);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) openssl_fatal("EVP_DigestSignInit");
  Ed25519Signature sig{};
  size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1 || len != sig.size())
    openssl_fatal("EVP_DigestSign");
  return sig;
}

bool ed25519_verify(EVP_PKEY* key, std::initializer_list<std::span<const uint8_t>> parts,
                    std::span<const uint8_t> signature) {
  if (signature.size() != kEd25519SignatureSize) return false;
  const std::vector<uint8_t> msg = concat(parts);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1)
    openssl_fatal("EVP_DigestVerifyInit");
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), msg.data(), msg.size());
  ERR_clear_error();
  return rc == 1;
}

}  // namespace vramsnap::crypto
