// The list of seal algorithms and the lookups over it.
#include "format/seal/registry.h"

#include "format/seal/entries.h"

namespace vramsnap::format {
namespace {

// In id order. A new algorithm: its file, its line here, its spec section.
constexpr std::array<const SealAlgorithm*, 1> kAlgorithms = {&kHmacSha256Seal};

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

std::span<const SealAlgorithm* const> seal_algorithms() noexcept { return kAlgorithms; }

}  // namespace vramsnap::format
