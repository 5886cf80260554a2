#pragma once
// Making and checking the seal of a snapshot through the seal algorithm
// registry (format/seal/registry.h). A seal covers the key id, the header and
// the trailer up to its check value; the trailer carries the SHA-256 of the
// chunk table (every chunk's hash and position) and of the manifest
// (snapshot id, generation, labels), plus every offset and the file size, so
// the tag covers every byte transitively and checks in microseconds before
// any chunk is touched.
#include <span>
#include <string>
#include <vector>

#include "format/binary.h"
#include "format/snapshot_data.h"
#include "vramsnap/key.hpp"

namespace vramsnap::format {

// The seal block for these header and trailer bytes under key, with the
// algorithm the registry picks for the key's type (Usage error if none). The
// header must already set that algorithm's feature bit (seal_features).
Result<SealBlock> make_seal(const Key& key, const HeaderBytes& header, const TrailerBytes& trailer);

// The required feature bits a file sealed with key sets for its seal (0 for
// none or for an HMAC key), so the writer can put them in the header first.
uint64_t seal_features(const Key* key);

// What the public API reports about a seal block.
SealInfo seal_info(const SealBlock& block);

// Checks the seal of an opened snapshot against the keys a caller trusts (any
// one of them may have sealed). No keys only with allow_unsealed
// (structure-only check). Errors (Integrity): unsealed without
// allow_unsealed; sealed with an algorithm none of the keys checks (so a host
// given only public keys refuses HMAC seals); key id mismatch (the ids
// named); tag mismatch. A sealed snapshot without any key is a Usage error.
Status check_seal(const SnapshotData& s, std::span<const Key> keys, bool allow_unsealed);
Status check_seal(const SnapshotData& s, const Key* key, bool allow_unsealed);

// The keys of a check: options.key, then options.trusted_keys.
std::vector<Key> keys_of(const Key* key, const std::vector<Key>& trusted);

struct SealOutcome {
  SealInfo previous;
  SealInfo now;
  bool rewritten = false;  // the whole file was copied (feature bits changed)
};

// Seals (or re-seals) a snapshot: validates its structure, then, when the
// header's seal feature bits stay as they are, rewrites only the 128-byte
// seal block, which sits inside one 512-byte sector (written with one pwrite,
// then fsync); a crash leaves the old or the new block, each a valid file.
// When they change (signing a file that was unsealed or HMAC-sealed, or the
// reverse), header and trailer change too, in two sectors, so the file is
// copied to a temporary file (copy_file_range: a reflink where the file
// system has them), patched, fsynced and renamed over the original.
Result<SealOutcome> seal_file(const std::string& path, const Key& key);

}  // namespace vramsnap::format
