#pragma once
// Internal state of an opened snapshot, shared by verify, restore and seal.
#include <array>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "format/binary.h"
#include "io/file.h"
#include "vramsnap/snapshot.hpp"

namespace vramsnap {

struct SnapshotData {
  io::InputFile file;
  std::string path;
  SnapshotMeta meta;
  std::vector<RegionMeta> regions;
  std::vector<ChunkEntry> chunks;
  std::vector<std::pair<size_t, size_t>> region_ranges;  // [first, last) chunk per region
  SealInfo seal;
  FileLayout layout;
  format::HeaderBytes header_bytes{};
  format::TrailerBytes trailer_bytes{};
  format::SealBlock seal_block;
};

namespace format {

// "<path>: region "name", chunk 12 (file offset 0x1000): "
std::string chunk_context(const SnapshotData& s, size_t chunk_index);

// Reads chunk i's stored bytes in pieces of kHashPiece bytes and hashes each
// piece right after reading it, while it is still in the core's cache, then
// reads the alignment padding and checks that it is zero and that the hash
// matches the table (either failure -> Auth error naming the chunk). With
// Keep::Stored the stored bytes land in buf[0, stored_size) (buf.size() >=
// stored_size); with Keep::Nothing buf is a scratch piece (buf.size() >=
// kHashPiece) and the chunk is never held whole. On error buf holds
// unverified bytes: the caller must not use them. *read_ns and *hash_ns
// (optional) accumulate the nanoseconds spent in each step.
inline constexpr size_t kHashPiece = 256 * 1024;
enum class Keep { Stored, Nothing };
Status read_hashed_chunk(const SnapshotData& s, size_t i, std::span<uint8_t> buf, Keep keep, crypto::Sha256& hash,
                         uint64_t* read_ns = nullptr, uint64_t* hash_ns = nullptr);

// End of chunk i's extent including padding.
uint64_t chunk_extent_end(const ChunkEntry& c);

}  // namespace format
}  // namespace vramsnap
