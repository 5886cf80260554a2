// Seal algorithm 2, Ed25519 (formats/snapshot-v1.md 9.4): a signature over
// the domain string, the key id, the header and the sealed part of the
// trailer, in tag[0, 64). A private key signs; a private or a public key
// checks. Files sealed with it set required feature bit 1 (format 1.2).
#include <algorithm>

#include "crypto/ed25519.h"
#include "format/features.h"
#include "format/seal/entries.h"
#include "vramsnap/key.hpp"

namespace vramsnap::format {
namespace {

std::span<const uint8_t> domain() {
  // kSealDomainEd25519 names this algorithm; sizeof keeps its NUL.
  return {reinterpret_cast<const uint8_t*>(kSealDomainEd25519), sizeof(kSealDomainEd25519)};
}

bool is_private(const crypto::Key& key) { return key.type() == KeyType::Ed25519Private; }

bool is_ed25519(const crypto::Key& key) {
  return key.type() == KeyType::Ed25519Private || key.type() == KeyType::Ed25519Public;
}

Result<SealTag> sign(const crypto::Key& key, const SealedBytes& sealed) {
  const auto sig = crypto::ed25519_sign(key.pkey(), {domain(), sealed.key_id, sealed.header, sealed.trailer});
  SealTag tag{};
  std::copy(sig.begin(), sig.end(), tag.begin());
  return tag;
}

// Verification reads only public data, so timing reveals nothing secret.
bool check(const crypto::Key& key, const SealedBytes& sealed, std::span<const uint8_t> tag) {
  return crypto::ed25519_verify(key.pkey(), {domain(), sealed.key_id, sealed.header, sealed.trailer}, tag);
}

}  // namespace

const SealAlgorithm kEd25519Seal = {
    .id = kSealEd25519,
    .name = "ed25519",
    .tag_size = crypto::kEd25519SignatureSize,
    .feature = kFeatureEd25519,
    .can_seal = is_private,
    .can_check = is_ed25519,
    .seal = sign,
    .check = check,
};

}  // namespace vramsnap::format
