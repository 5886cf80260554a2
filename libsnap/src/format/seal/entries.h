#pragma once
// The seal algorithms, one per file; registry.cpp lists them.
#include "format/seal/registry.h"

namespace vramsnap::format {

extern const SealAlgorithm kHmacSha256Seal;  // hmac_sha256.cpp
extern const SealAlgorithm kEd25519Seal;     // ed25519.cpp

}  // namespace vramsnap::format
