#pragma once
// Reading snapshots: open (every structure validated against caps and the file
// size before use), list regions and chunks, account for every byte.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vramsnap/codec.hpp"
#include "vramsnap/error.hpp"
#include "vramsnap/export.h"
#include "vramsnap/source.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap {

struct ChunkEntry {
  uint32_t region = 0;
  Codec codec = Codec::Raw;
  uint8_t elem_size = 0;
  uint64_t region_offset = 0;  // 0 in a packed chunk: it starts with its first region
  uint64_t raw_size = 0;
  uint64_t stored_offset = 0;
  uint64_t stored_size = 0;
  std::array<uint8_t, 32> hash{};  // SHA-256 of the stored bytes
  // Packed chunk (format 1.3): the number of whole regions it holds, from
  // `region` on, end to end in manifest order; 0 for a chunk of one region.
  uint32_t packed_regions = 0;
};

// A seal's state is the seal block's algorithm id (formats/snapshot-v1.md 8):
// 0 unsealed, else the algorithm that sealed the file. Open: later versions
// add algorithms, so compare with Unsealed and read the algorithm's name
// from SealInfo::algorithm rather than listing the values.
enum class SealState { Unsealed = 0, HmacSha256 = 1, Ed25519 = 2 };

struct SealInfo {
  SealState state = SealState::Unsealed;
  std::string algorithm;   // "hmac-sha256", "ed25519"; empty when unsealed
  std::array<uint8_t, 8> key_id{};
  std::string key_id_hex;  // empty when unsealed
};

// Every byte of the file, attributed. The fields add up to file_size.
struct FileLayout {
  uint64_t file_size = 0;
  uint64_t header = 0;          // 64
  uint64_t header_padding = 0;  // to the data offset
  uint64_t chunk_data = 0;      // stored chunk bytes
  uint64_t chunk_padding = 0;   // alignment padding after chunks
  uint64_t table = 0;
  uint64_t manifest = 0;
  uint64_t seal_padding = 0;
  uint64_t seal = 0;
  uint64_t trailer = 0;
  uint64_t data_offset = 0, table_offset = 0, manifest_offset = 0, seal_offset = 0, trailer_offset = 0;
};

struct SnapshotMeta {
  std::array<uint8_t, 16> id{};
  std::string id_hex;
  std::string created;  // RFC 3339 UTC
  std::string tool;     // "vramsnap 0.1.0"
  uint64_t generation = 0;
  std::map<std::string, std::string> labels;
  SourceInfo source;
  uint64_t chunk_size = 0;  // nominal chunk size used by the writer
  uint16_t major = 0, minor = 0;
  uint64_t required_features = 0, optional_features = 0;
  // How chunk hashes are computed: "sha256" (flat, format 1.0) or
  // "leaf-sha256-16k" (over 16 KiB leaves, feature leaf-sha256).
  std::string chunk_hash;
};

struct SnapshotData;  // internal

class VRAMSNAP_API Snapshot {
 public:
  // Opens and validates the structure (trailer, seal block, table, manifest,
  // header, and their mutual consistency). Reads no chunk data: three reads
  // of the source in all.
  static Result<Snapshot> open(std::shared_ptr<const Source> source);
  // The same over open_source(path): a file path, an http(s) URL or an
  // oci:// reference (remote options from the environment: see remote.hpp).
  static Result<Snapshot> open(const std::string& path);

  // The source's name (a path or URL).
  const std::string& path() const;
  const Source& source() const;
  const SnapshotMeta& meta() const;
  const std::vector<RegionMeta>& regions() const;
  const std::vector<ChunkEntry>& chunks() const;
  // Chunks of one region, in region order. A region of a packed chunk has
  // that one chunk; region_offset_in_chunk() says where in it the region lies.
  std::span<const ChunkEntry> region_chunks(size_t region) const;
  // Offset of a region's first byte in its first chunk's decoded bytes: 0,
  // except for a region that shares a packed chunk.
  uint64_t region_offset_in_chunk(size_t region) const;
  const SealInfo& seal() const;
  const FileLayout& layout() const;
  // Region index by name, or -1.
  long find_region(const std::string& name) const;

 private:
  explicit Snapshot(std::shared_ptr<const SnapshotData> d) : data_(std::move(d)) {}
  std::shared_ptr<const SnapshotData> data_;
  friend struct SnapshotAccess;
};

}  // namespace vramsnap
