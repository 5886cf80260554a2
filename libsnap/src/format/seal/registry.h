#pragma once
// The seal algorithm registry. Every algorithm is one SealAlgorithm (its id
// in the seal block, its name, a sealer and a verifier, each with the
// algorithm's own domain-separation string) defined in its own file and
// listed once in registry.cpp. The writer, `seal` and the seal check go
// through the registry, so a new algorithm is one entry plus its section in
// formats/snapshot-v1.md.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/key.h"
#include "format/layout.h"
#include "vramsnap/error.hpp"

namespace vramsnap::format {

// The tag area of the seal block; an algorithm uses its first tag_size bytes
// and the rest stays zero.
using SealTag = std::array<uint8_t, seal::kTagSize>;

// What a seal covers, in this order, after the algorithm's domain string
// (formats/snapshot-v1.md 9.2): the key id, header[0, 64), trailer[0, 144).
struct SealedBytes {
  std::span<const uint8_t> key_id;
  std::span<const uint8_t> header;
  std::span<const uint8_t> trailer;
};

struct SealAlgorithm {
  uint32_t id;          // seal block offset 8; also the public SealState value
  const char* name;     // "hmac-sha256": SealInfo::algorithm, JSON output
  size_t tag_size;      // bytes of the tag area it fills (<= seal::kTagSize)
  uint64_t feature;     // the required feature bit a file sealed with it sets (0: none, 1.0)
  bool (*can_seal)(const crypto::Key& key);
  bool (*can_check)(const crypto::Key& key);
  // The tag for these bytes under key (a key can_seal accepts).
  Result<SealTag> (*seal)(const crypto::Key& key, const SealedBytes& sealed);
  // Whether tag (tag_size bytes) is the seal of these bytes under key (a key
  // can_check accepts). Constant-time in the tag's contents.
  bool (*check)(const crypto::Key& key, const SealedBytes& sealed, std::span<const uint8_t> tag);
};

// nullptr for kSealNone and for ids this library does not know.
const SealAlgorithm* find_seal_algorithm(uint32_t id) noexcept;

// The algorithm a writer seals with when given this key; nullptr if none can.
const SealAlgorithm* sealing_algorithm(const crypto::Key& key) noexcept;

// Checks that a file's required feature bits agree with its seal block: a
// file sealed with an algorithm sets that algorithm's bit, and a file that
// sets an algorithm's bit is sealed with it (Format error otherwise).
Status check_seal_features(uint32_t algorithm, uint64_t required_features);

// The required bits of every seal algorithm (cleared when a file is re-sealed).
uint64_t seal_feature_bits() noexcept;

// Every entry, in id order.
std::span<const SealAlgorithm* const> seal_algorithms() noexcept;

}  // namespace vramsnap::format
