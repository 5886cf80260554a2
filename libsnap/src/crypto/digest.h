#pragma once
// SHA-256 through OpenSSL 3 EVP (SHA-NI where the CPU has it).
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace vramsnap::crypto {

// Reports a failed OpenSSL call that cannot fail unless OpenSSL itself is
// broken, and aborts: the hashing and signing APIs have no error channel, and
// a wrong digest is worse than stopping.
[[noreturn]] void openssl_fatal(const char* what);

using Digest = std::array<uint8_t, 32>;

Digest sha256(std::span<const uint8_t> data);

// Incremental SHA-256; reusable after finish() via reset().
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const uint8_t> data);
  Digest finish();  // also resets
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Constant-time comparison (CRYPTO_memcmp).
bool equal_ct(const uint8_t* a, const uint8_t* b, size_t n);

std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace vramsnap::crypto
