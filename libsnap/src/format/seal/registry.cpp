// The list of seal algorithms and the lookups over it.
#include "format/seal/registry.h"

#include <fmt/format.h>

#include "format/features.h"
#include "format/seal/entries.h"

namespace vramsnap::format {
namespace {

// In id order. A new algorithm: its file, its line here, its spec section.
constexpr std::array<const SealAlgorithm*, 2> kAlgorithms = {&kHmacSha256Seal, &kEd25519Seal};

}  // namespace

const SealAlgorithm* find_seal_algorithm(uint32_t id) noexcept {
  for (const SealAlgorithm* a : kAlgorithms)
    if (a->id == id) return a;
  return nullptr;
}

const SealAlgorithm* sealing_algorithm(const crypto::Key& key) noexcept {
  for (const SealAlgorithm* a : kAlgorithms)
    if (a->can_seal(key)) return a;
  return nullptr;
}

Status check_seal_features(uint32_t algorithm, uint64_t required_features) {
  const SealAlgorithm* alg = find_seal_algorithm(algorithm);
  const uint64_t own = alg ? alg->feature : 0;
  if (own != 0 && (required_features & own) == 0)
    return Error(ErrorKind::Format, fmt::format("seal block: sealed with {}, but the header does not set its feature "
                                                "bit ({})", alg->name, feature_names(own, known_features())));
  if (const uint64_t other = required_features & seal_feature_bits() & ~own)
    return Error(ErrorKind::Format, fmt::format("header: feature {} is set, but the file is {}",
                                                feature_names(other, known_features()),
                                                alg ? std::string("sealed with ") + alg->name : std::string("unsealed")));
  return {};
}

uint64_t seal_feature_bits() noexcept {
  uint64_t bits = 0;
  for (const SealAlgorithm* a : kAlgorithms) bits |= a->feature;
  return bits;
}

std::span<const SealAlgorithm* const> seal_algorithms() noexcept { return kAlgorithms; }

}  // namespace vramsnap::format
