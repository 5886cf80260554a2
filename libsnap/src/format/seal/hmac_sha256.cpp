// Seal algorithm 1, HMAC-SHA256 with a 32-byte secret key
// (formats/snapshot-v1.md 9.2): the MAC over the domain string, the key id,
// the header and the sealed part of the trailer, in tag[0, 32).
#include <algorithm>

#include "crypto/digest.h"
#include "format/seal/entries.h"
#include "vramsnap/key.hpp"

namespace vramsnap::format {
namespace {

constexpr size_t kMacSize = 32;

crypto::Digest mac(const crypto::Key& key, const SealedBytes& sealed) {
  // kSealDomain names this algorithm; sizeof keeps its NUL.
  return crypto::hmac_sha256(key, {
      {reinterpret_cast<const uint8_t*>(kSealDomain), sizeof(kSealDomain)},
      sealed.key_id,
      sealed.header,
      sealed.trailer,
  });
}

bool is_secret(const crypto::Key& key) { return key.type() == KeyType::Secret; }

Result<SealTag> seal_hmac(const crypto::Key& key, const SealedBytes& sealed) {
  const crypto::Digest m = mac(key, sealed);
  SealTag tag{};
  std::copy(m.begin(), m.end(), tag.begin());
  return tag;
}

bool check_hmac(const crypto::Key& key, const SealedBytes& sealed, std::span<const uint8_t> tag) {
  if (tag.size() != kMacSize) return false;
  const crypto::Digest m = mac(key, sealed);
  return crypto::equal_ct(m.data(), tag.data(), m.size());
}

}  // namespace

const SealAlgorithm kHmacSha256Seal = {
    .id = kSealHmacSha256,
    .name = "hmac-sha256",
    .tag_size = kMacSize,
    .feature = 0,
    .can_seal = is_secret,
    .can_check = is_secret,
    .seal = seal_hmac,
    .check = check_hmac,
};

}  // namespace vramsnap::format
