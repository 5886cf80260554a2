#pragma once
// Internal state of an opened snapshot, shared by verify, restore and seal.
#include <array>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "format/binary.h"
#include "io/aligned_buffer.h"
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

// Reads chunk i's extent (stored bytes, then alignment padding) into buf in
// one read and returns it; the stored bytes are its first stored_size bytes.
// No hash check: follow with check_chunk over exactly these bytes.
Result<std::span<const uint8_t>> read_chunk_extent(const SnapshotData& s, size_t i, io::AlignedBuffer& buf);
// Checks that padding is zero and that the SHA-256 of stored matches the
// table. Either failure -> Auth error with the chunk named.
Status check_chunk(const SnapshotData& s, size_t i, std::span<const uint8_t> stored,
                   std::span<const uint8_t> padding);
// Reads raw chunk i into dst and its padding into pad (<= kDataAlign bytes);
// returns the padding length via *pad_len. No hash check.
Status read_raw_extent(const SnapshotData& s, size_t i, std::span<uint8_t> dst, uint8_t* pad, uint64_t* pad_len);
// Checks chunk i (padding and hash, as check_chunk) by reading its extent in
// pieces of piece.size() bytes, so the bytes are hashed while still in cache
// and the chunk is never held whole. For callers that only verify: nothing
// read here is handed out.
Status stream_check_chunk(const SnapshotData& s, size_t i, crypto::Sha256& hash, std::span<uint8_t> piece);

// End of chunk i's extent including padding.
uint64_t chunk_extent_end(const ChunkEntry& c);

}  // namespace format
}  // namespace vramsnap
