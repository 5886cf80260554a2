#include "crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace vramsnap::crypto {

// These calls fail only when OpenSSL itself is broken (no default provider,
// allocation failure); there is no sensible way to continue hashing, and the
// API has no error channel, so stop loudly rather than return a wrong digest.
[[noreturn]] void openssl_fatal(const char* what) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  std::fprintf(stderr, "vramsnap: fatal: OpenSSL %s failed: %s\n", what, buf);
  std::abort();
}

namespace {

struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};

// Fetched once: an explicit fetch skips the per-call provider lookup that the
// implicit EVP_sha256() path performs. Function-local static init is
// thread-safe, and the EVP_MD itself is immutable and shareable.
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, MdFree> md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) openssl_fatal("EVP_MD_fetch(SHA256)");
    return std::unique_ptr<EVP_MD, MdFree>(m);
  }();
  return md.get();
}

}  // namespace

Digest sha256(std::span<const uint8_t> data) {
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, sha256_md(), nullptr) != 1 || len != out.size()) {
    openssl_fatal("EVP_Digest");
  }
  return out;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }  // also cleanses the hash state
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr) openssl_fatal("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex2(impl_->ctx, sha256_md(), nullptr) != 1) openssl_fatal("EVP_DigestInit_ex2");
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) openssl_fatal("EVP_DigestUpdate");
}

Digest Sha256::finish() {
  Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1 || len != out.size()) {
    openssl_fatal("EVP_DigestFinal_ex");
  }
  // Re-init keeps the context (and its provider state) for the next message.
  if (EVP_DigestInit_ex2(impl_->ctx, sha256_md(), nullptr) != 1) openssl_fatal("EVP_DigestInit_ex2");
  return out;
}

bool equal_ct(const uint8_t* a, const uint8_t* b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return out;
}

}  // namespace vramsnap::crypto
