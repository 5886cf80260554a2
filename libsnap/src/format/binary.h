#pragma once
// Encoding and strict parsing of the fixed-size structures of format v1:
// header, chunk records, seal block, trailer. Parsers check every field that
// can be checked locally; cross-structure checks live in reader.cpp.
#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "format/layout.h"
#include "vramsnap/error.hpp"
#include "vramsnap/snapshot.hpp"

namespace vramsnap::format {

struct Header {
  uint16_t major = kMajorVersion;
  uint16_t minor = kMinorVersion;
  uint64_t required_features = 0;
  uint64_t optional_features = 0;
  std::array<uint8_t, 16> snapshot_id{};
};

struct Trailer {
  uint64_t table_offset = 0;
  uint64_t chunk_count = 0;
  uint32_t region_count = 0;
  uint64_t manifest_offset = 0;
  uint64_t manifest_size = 0;
  uint64_t seal_offset = 0;
  uint64_t file_size = 0;
  uint16_t major = kMajorVersion;
  uint16_t minor = kMinorVersion;
  std::array<uint8_t, 32> table_hash{};
  std::array<uint8_t, 32> manifest_hash{};
};

struct SealBlock {
  uint32_t algorithm = kSealNone;
  std::array<uint8_t, kKeyIdSize> key_id{};
  std::array<uint8_t, seal::kTagSize> tag{};  // the algorithm's tag, then zeros
};

using HeaderBytes = std::array<uint8_t, kHeaderSize>;
using TrailerBytes = std::array<uint8_t, kTrailerSize>;
using SealBytes = std::array<uint8_t, kSealSize>;

HeaderBytes encode_header(const Header& h);
Result<Header> parse_header(std::span<const uint8_t, kHeaderSize> b);

TrailerBytes encode_trailer(const Trailer& t);
Result<Trailer> parse_trailer(std::span<const uint8_t, kTrailerSize> b);

SealBytes encode_seal(const SealBlock& s);
Result<SealBlock> parse_seal(std::span<const uint8_t, kSealSize> b);

void encode_record(const ChunkEntry& c, uint8_t* out /* kChunkRecordSize */);
// Local checks only: codec id, elem size, flags, the codec's stored-size rule,
// caps; packed records (flag bit 0) only when `packed_allowed` (required
// bit 2), and then n >= 2. The region rules of packed records need the
// manifest (reader.cpp).
Result<ChunkEntry> parse_record(const uint8_t* in, uint64_t index, bool packed_allowed = false);

}  // namespace vramsnap::format
