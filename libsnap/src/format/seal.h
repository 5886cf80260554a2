#pragma once
// Making and checking the seal of a snapshot through the seal algorithm
// registry (format/seal/registry.h). A seal covers the key id, the header and
// the trailer up to its check value; the trailer carries the SHA-256 of the
// chunk table (every chunk's hash and position) and of the manifest
// (snapshot id, generation, labels), plus every offset and the file size, so
// the tag covers every byte transitively and checks in microseconds before
// any chunk is touched.
#include <string>

#include "format/binary.h"
#include "format/snapshot_data.h"
#include "vramsnap/key.hpp"

namespace vramsnap::format {

// The seal block for these header and trailer bytes under key, with the
// algorithm the registry picks for the key's type (Usage error if none).
Result<SealBlock> make_seal(const Key& key, const HeaderBytes& header, const TrailerBytes& trailer);

// What the public API reports about a seal block.
SealInfo seal_info(const SealBlock& block);

// Checks the seal of an opened snapshot. key == nullptr only with
// allow_unsealed (structure-only check). Errors (Integrity): unsealed without
// allow_unsealed, key id mismatch (both ids named), tag mismatch; a sealed
// snapshot without a key is a Usage error.
Status check_seal(const SnapshotData& s, const Key* key, bool allow_unsealed);

struct SealOutcome {
  SealInfo previous;
  SealInfo now;
};

// Seals (or re-seals) a snapshot in place: validates its structure, then
// rewrites only the 128-byte seal block, which sits inside one 512-byte sector
// (written with one pwrite, then fsync). A crash leaves the old or the new
// block, each a valid file.
Result<SealOutcome> seal_file(const std::string& path, const Key& key);

}  // namespace vramsnap::format
