#pragma once
// Internal state of an opened snapshot, shared by verify, restore and seal.
#include <array>
#include <span>
#include <string>
#include <utility>
#include <vector>

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

// Reads chunk i's stored bytes plus its alignment padding into buf, checks the
// padding is zero and the SHA-256 of the stored bytes before returning them in
// *stored. Hash mismatch -> Auth error with context.
Status read_chunk_verified(const SnapshotData& s, size_t i, std::vector<uint8_t>& buf,
                           std::span<const uint8_t>* stored);

// For raw chunks: reads the stored bytes straight into dst (dst.size() ==
// raw_size), then checks padding and hash. dst holds unverified bytes on error.
Status read_raw_chunk_into(const SnapshotData& s, size_t i, std::span<uint8_t> dst);

// The two halves of the above, so callers can time them apart: read the
// extent (stored bytes, then padding) into buf, and check padding + hash.
Status read_chunk_extent(const SnapshotData& s, size_t i, std::vector<uint8_t>& buf);
Status check_chunk(const SnapshotData& s, size_t i, std::span<const uint8_t> stored,
                   std::span<const uint8_t> padding);
// Reads raw chunk i into dst and its padding into pad (<= kDataAlign bytes);
// returns the padding length via *pad_len. No hash check.
Status read_raw_extent(const SnapshotData& s, size_t i, std::span<uint8_t> dst, uint8_t* pad, uint64_t* pad_len);

// End of chunk i's extent including padding.
uint64_t chunk_extent_end(const ChunkEntry& c);

}  // namespace format
}  // namespace vramsnap
