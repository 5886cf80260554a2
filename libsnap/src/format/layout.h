#pragma once
// Format v1 byte layout. formats/snapshot-v1.md is the normative text; this
// header is its machine-readable twin. All integers are little-endian.
//
//   0       header (64 B) + zero padding to kDataAlign
//   4096    chunk data: each non-empty chunk at a kDataAlign-aligned offset,
//           zero padding to the next boundary; extents tile the area exactly
//   T       chunk table: chunk_count records of kChunkRecordSize bytes
//   M       manifest: UTF-8 JSON (manifest_size bytes), directly after table
//   S       seal block (kSealSize B) at align_up(M + manifest_size, kSealAlign),
//           zero padding before it
//   S+128   trailer (kTrailerSize B); file ends here
#include <array>
#include <cstdint>
#include <cstring>

#include "vramsnap/codec.hpp"

namespace vramsnap::format {

// ---- header --------------------------------------------------------------
inline constexpr std::array<uint8_t, 8> kHeaderMagic = {0x89, 'V', 'S', 'N', 'A', 'P', 0x0D, 0x0A};
inline constexpr uint16_t kMajorVersion = 1;
inline constexpr uint16_t kMinorVersion = 0;
inline constexpr uint32_t kHeaderSize = 64;
inline constexpr uint64_t kDataAlign = 4096;   // chunk data alignment, also data start
inline constexpr uint64_t kDataOffset = 4096;  // header is padded to here

// Header field offsets.
namespace hdr {
inline constexpr size_t kMagic = 0;            // u8[8]
inline constexpr size_t kMajor = 8;            // u16
inline constexpr size_t kMinor = 10;           // u16
inline constexpr size_t kHeaderSize = 12;      // u32, = 64
inline constexpr size_t kRequired = 16;        // u64 required feature bits
inline constexpr size_t kOptional = 24;        // u64 optional feature bits
inline constexpr size_t kSnapshotId = 32;      // u8[16]
inline constexpr size_t kDataAlign = 48;       // u32, = 4096
inline constexpr size_t kReserved = 52;        // u32, = 0
inline constexpr size_t kCheck = 56;           // u8[8]: SHA-256(header[0..56))[0..8)
}  // namespace hdr

// Feature bits: format/features.h holds the table of required bits; unknown
// optional bits are ignored.

// ---- chunk table -----------------------------------------------------------
inline constexpr uint32_t kChunkRecordSize = 72;
namespace rec {
inline constexpr size_t kRegion = 0;        // u32 region index (manifest order)
inline constexpr size_t kCodec = 4;         // u8 codec id
inline constexpr size_t kElemSize = 5;      // u8 shuffle element size (2,4,8) else 0
inline constexpr size_t kFlags = 6;         // u16: 0, or kFlagPacked
inline constexpr size_t kRegionOffset = 8;  // u64 offset of the chunk in its region; packed: region count
inline constexpr size_t kRawSize = 16;      // u64 decoded size
inline constexpr size_t kStoredOffset = 24; // u64 file offset (0 for codec zero)
inline constexpr size_t kStoredSize = 32;   // u64 stored bytes (0 for codec zero)
inline constexpr size_t kHash = 40;         // u8[32] SHA-256 of the stored bytes
}  // namespace rec
// Record flag bit 0 (feature packed-regions): the chunk holds whole regions
// region .. region+n-1 end to end, n in the region_offset field (section 5.5).
inline constexpr uint16_t kFlagPacked = 0x0001;

// Codec ids (record offset 4) are the public, open Codec values; the codec
// registry (codec/registry.h) lists the ones this library knows.
using CodecId = vramsnap::Codec;

// ---- seal block ------------------------------------------------------------
inline constexpr std::array<uint8_t, 8> kSealMagic = {'V', 'S', 'N', 'P', 'S', 'E', 'A', 'L'};
inline constexpr uint64_t kSealSize = 128;
inline constexpr uint64_t kSealAlign = 512;  // the block never straddles a sector
namespace seal {
inline constexpr size_t kMagic = 0;      // u8[8]
inline constexpr size_t kAlgorithm = 8;  // u32: 0 unsealed, else a seal algorithm id (format/seal/registry.h)
inline constexpr size_t kReserved0 = 12; // u32, = 0
inline constexpr size_t kKeyId = 16;     // u8[8], zero when unsealed
inline constexpr size_t kReserved1 = 24; // u64, = 0
inline constexpr size_t kTag = 32;       // u8[96]: the algorithm's tag, rest zero
inline constexpr size_t kTagSize = 96;
}  // namespace seal
inline constexpr uint32_t kSealNone = 0;
inline constexpr uint32_t kSealHmacSha256 = 1;
inline constexpr uint32_t kSealEd25519 = 2;
inline constexpr size_t kKeyIdSize = 8;
inline constexpr char kSealDomain[] = "vramsnap/v1/seal/hmac-sha256";  // algorithm 1's MAC prefix, NUL included
inline constexpr char kSealDomainEd25519[] = "vramsnap/v1/seal/ed25519";  // algorithm 2's signed prefix, NUL included

// ---- trailer ---------------------------------------------------------------
inline constexpr std::array<uint8_t, 8> kTrailerMagic = {'V', 'R', 'A', 'M', 'S', 'N', 'A', 'P'};
inline constexpr uint64_t kTrailerSize = 160;
namespace trl {
inline constexpr size_t kTableOffset = 0;     // u64
inline constexpr size_t kChunkCount = 8;      // u64
inline constexpr size_t kRecordSize = 16;     // u32, = 72
inline constexpr size_t kRegionCount = 20;    // u32
inline constexpr size_t kManifestOffset = 24; // u64
inline constexpr size_t kManifestSize = 32;   // u64
inline constexpr size_t kSealOffset = 40;     // u64
inline constexpr size_t kFileSize = 48;       // u64
inline constexpr size_t kMajor = 56;          // u16
inline constexpr size_t kMinor = 58;          // u16
inline constexpr size_t kReserved0 = 60;      // u32, = 0
inline constexpr size_t kTableHash = 64;      // u8[32] SHA-256 of the table
inline constexpr size_t kManifestHash = 96;   // u8[32] SHA-256 of the manifest
inline constexpr size_t kDataOffset = 128;    // u64, = 4096
inline constexpr size_t kReserved1 = 136;     // u64, = 0
inline constexpr size_t kCheck = 144;         // u8[8]: SHA-256(trailer[0..144))[0..8)
inline constexpr size_t kMagic = 152;         // u8[8]
inline constexpr size_t kSealedPart = 144;    // bytes of the trailer under the seal
}  // namespace trl

// ---- caps (a reader rejects anything larger before allocating) -------------
inline constexpr uint64_t kMaxChunkRawSize = 256ull << 20;      // 256 MiB
inline constexpr uint64_t kMinChunkSize = 64ull << 10;           // writer: 64 KiB
inline constexpr uint64_t kDefaultChunkSize = 4ull << 20;        // writer: 4 MiB
inline constexpr uint64_t kMaxChunkCount = 1ull << 22;           // 4 Mi chunks (288 MiB table)
inline constexpr uint64_t kMaxRegionCount = 65536;
inline constexpr uint64_t kMaxManifestSize = 64ull << 20;        // 64 MiB
inline constexpr uint64_t kMaxRegionSize = 1ull << 48;           // 256 TiB
inline constexpr uint64_t kMaxNameBytes = 255;
inline constexpr uint64_t kMaxLabelCount = 1024;
inline constexpr uint64_t kMaxLabelBytes = 4096;                 // key or value
inline constexpr uint64_t kMaxShapeRank = 16;

// ---- little-endian helpers -------------------------------------------------
inline uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t load_u64(const uint8_t* p) { return uint64_t(load_u32(p)) | (uint64_t(load_u32(p + 4)) << 32); }
inline void store_u16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
inline void store_u32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i)); }
inline void store_u64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i)); }

}  // namespace vramsnap::format
