#pragma once
// The seal: HMAC-SHA256(key, domain || key id || header[0,64) || trailer[0,144)).
// The trailer carries the SHA-256 of the chunk table (every chunk's hash and
// position) and of the manifest (snapshot id, generation, labels), plus every
// offset and the file size, so the 32-byte MAC covers every byte transitively
// and checks in microseconds before any chunk is touched.
#include <string>

#include "crypto/key.h"
#include "format/snapshot_data.h"

namespace vramsnap::format {

crypto::Digest compute_seal_mac(const crypto::Key& key, const HeaderBytes& header, const TrailerBytes& trailer);

// Checks the seal of an opened snapshot. key == nullptr only with
// allow_unsealed (structure-only check). Errors (Integrity): unsealed without
// allow_unsealed, key id mismatch (both ids named), MAC mismatch.
Status check_seal(const SnapshotData& s, const crypto::Key* key, bool allow_unsealed);

struct SealOutcome {
  SealInfo previous;
  SealInfo now;
};

// Seals (or re-seals) a snapshot in place: validates its structure, then
// rewrites only the 128-byte seal block, which sits inside one 512-byte sector
// (written with one pwrite, then fsync). A crash leaves the old or the new
// block, each a valid file.
Result<SealOutcome> seal_file(const std::string& path, const crypto::Key& key);

}  // namespace vramsnap::format
