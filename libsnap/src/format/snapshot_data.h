#pragma once
// Internal state of an opened snapshot, shared by verify, restore and seal:
// the Source it is read from and every structure open() validated.
#include <array>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "format/binary.h"
#include "vramsnap/snapshot.hpp"
#include "vramsnap/source.hpp"

namespace vramsnap {

enum class ChunkHashScheme { Flat, Leaf16k };

struct SnapshotData {
  std::shared_ptr<const Source> source;
  std::string path;  // source->name(), for messages
  SnapshotMeta meta;
  std::vector<RegionMeta> regions;
  std::vector<ChunkEntry> chunks;
  std::vector<std::pair<size_t, size_t>> region_ranges;  // [first, last) chunk per region
  // Where each region starts in its packed chunk's decoded bytes (section
  // 5.5); empty when the file has no packed chunk, 0 for unpacked regions.
  std::vector<uint64_t> packed_offset;
  ChunkHashScheme chunk_hash = ChunkHashScheme::Flat;
  SealInfo seal;
  FileLayout layout;
  format::HeaderBytes header_bytes{};
  format::TrailerBytes trailer_bytes{};
  format::SealBlock seal_block;
};

// The library's way into a Snapshot's internals (the public class exposes
// none of them).
struct SnapshotAccess {
  static const SnapshotData& data(const Snapshot& snap) { return *snap.data_; }
  static std::shared_ptr<const SnapshotData> shared(const Snapshot& snap) { return snap.data_; }
};

namespace format {

// "<path>: region "name", chunk 12 (region offset 0, file offset 4096)"
std::string chunk_context(const SnapshotData& s, size_t chunk_index);

// End of chunk i's extent including padding.
uint64_t chunk_extent_end(const ChunkEntry& c);

}  // namespace format
}  // namespace vramsnap
