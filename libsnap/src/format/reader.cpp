#include <algorithm>
#include <array>
#include <numeric>

#include <fmt/format.h>

#include "codec/registry.h"
#include "core/checked_math.h"
#include "crypto/digest.h"
#include "format/binary.h"
#include "format/features.h"
#include "format/seal/registry.h"
#include "vramsnap/remote.hpp"
#include "format/manifest.h"
#include "format/names.h"
#include "format/seal.h"
#include "format/snapshot_data.h"

namespace vramsnap {
namespace {

Error bad(const std::string& path, const std::string& msg) { return Error(ErrorKind::Format, path + ": " + msg); }

const crypto::Digest& empty_sha256() {
  static const crypto::Digest d = crypto::sha256({});
  return d;
}

bool all_zero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

// A packed chunk i holding regions r .. r+n-1 (section 5.5, rules 3-5):
// they exist, none is empty, and their sizes add up to the chunk's raw size
// exactly. Each partial sum is compared with raw_size before it grows, so
// nothing overflows. Records each region's range and offset in the chunk.
Status check_packed(SnapshotData& s, size_t i, size_t r) {
  const auto& P = s.path;
  const auto& c = s.chunks[i];
  const uint64_t n = c.packed_regions;
  if (n > s.regions.size() - r)
    return bad(P, fmt::format("packed chunk {} holds regions {} to {} but the manifest has {} regions", i, r,
                              r + n - 1, s.regions.size()));
  if (s.packed_offset.empty()) s.packed_offset.assign(s.regions.size(), 0);
  uint64_t at = 0;
  for (size_t j = r; j < r + n; ++j) {
    const uint64_t size = s.regions[j].size;
    if (size == 0) return bad(P, fmt::format("packed chunk {} holds region \"{}\" of size 0", i, s.regions[j].name));
    if (size > c.raw_size - at)
      return bad(P, fmt::format("the regions of packed chunk {} hold more than its {} bytes (region \"{}\")", i,
                                c.raw_size, s.regions[j].name));
    s.packed_offset[j] = at;
    s.region_ranges[j] = {i, i + 1};
    at += size;
  }
  if (at != c.raw_size)
    return bad(P, fmt::format("the {} regions of packed chunk {} hold {} bytes but the chunk has {}", n, i, at,
                              c.raw_size));
  return {};
}

// Chunks must cover each region exactly, in order; stored extents must tile
// the data area [kDataOffset, table_offset) with only alignment padding.
Status check_chunks(SnapshotData& s, uint64_t table_offset) {
  const auto& P = s.path;
  s.region_ranges.assign(s.regions.size(), {0, 0});
  size_t i = 0;
  for (size_t r = 0; r < s.regions.size(); ++r) {
    if (i < s.chunks.size() && s.chunks[i].region == r && s.chunks[i].packed_regions) {
      VRAMSNAP_TRY(check_packed(s, i, r));
      r += s.chunks[i].packed_regions - 1;
      ++i;
      continue;
    }
    size_t first = i;
    uint64_t expect = 0;
    while (i < s.chunks.size() && s.chunks[i].region == r) {
      const auto& c = s.chunks[i];
      if (c.packed_regions)
        return bad(P, fmt::format("packed chunk {} follows another chunk of region \"{}\"", i, s.regions[r].name));
      if (c.region_offset != expect)
        return bad(P, fmt::format("chunk {} of region \"{}\" starts at {} but the previous chunk ends at {} "
                                  "(gap, overlap or duplicate)", i, s.regions[r].name, c.region_offset, expect));
      auto end = core::checked_add(expect, c.raw_size);
      if (!end || *end > s.regions[r].size)
        return bad(P, fmt::format("chunk {} runs past the end of region \"{}\"", i, s.regions[r].name));
      expect = *end;
      ++i;
    }
    if (expect != s.regions[r].size)
      return bad(P, fmt::format("region \"{}\" has {} bytes but its chunks cover {}", s.regions[r].name,
                                s.regions[r].size, expect));
    s.region_ranges[r] = {first, i};
  }
  if (i != s.chunks.size())
    return bad(P, fmt::format("chunk {} names region {} out of order or out of range (regions: {})", i,
                              s.chunks[i].region, s.regions.size()));

  std::vector<size_t> stored;
  for (size_t k = 0; k < s.chunks.size(); ++k) {
    const auto& c = s.chunks[k];
    if (c.codec == Codec::Zero) {
      if (c.hash != empty_sha256()) return bad(P, fmt::format("zero chunk {} has a non-empty hash", k));
    } else {
      stored.push_back(k);
    }
  }
  std::sort(stored.begin(), stored.end(),
            [&](size_t a, size_t b) { return s.chunks[a].stored_offset < s.chunks[b].stored_offset; });
  uint64_t cursor = format::kDataOffset;
  for (size_t k : stored) {
    const auto& c = s.chunks[k];
    if (c.stored_offset != cursor)
      return bad(P, fmt::format("chunk {} is stored at offset {} but the data area continues at {} "
                                "(overlapping, misplaced or unaccounted bytes)", k, c.stored_offset, cursor));
    auto end = core::checked_add(c.stored_offset, c.stored_size);
    auto aligned = end ? core::checked_align_up(*end, format::kDataAlign) : std::nullopt;
    if (!aligned || *aligned > table_offset)
      return bad(P, fmt::format("chunk {} runs into the chunk table", k));
    s.layout.chunk_data += c.stored_size;
    s.layout.chunk_padding += *aligned - *end;
    cursor = *aligned;
  }
  if (cursor != table_offset)
    return bad(P, fmt::format("data area ends at {} but the chunk table starts at {}", cursor, table_offset));
  return {};
}

Result<std::shared_ptr<SnapshotData>> open_impl(std::shared_ptr<const Source> src) {
  using namespace format;
  auto d = std::make_shared<SnapshotData>();
  const std::string& path = src->name();
  d->path = path;
  const uint64_t S = src->size();
  constexpr uint64_t kMinSize = kDataOffset + kSealSize + kTrailerSize;
  if (S < kMinSize)
    return bad(path, fmt::format("file is {} bytes, too short to be a snapshot (at least {})", S, kMinSize));

  // Three reads in all (for a remote source, three requests): the file's
  // tail (seal block and trailer), then the table and manifest, then the
  // header page. Nothing is read before the numbers that locate it are checked.
  // 1. Trailer: everything else is found from here.
  std::array<uint8_t, kSealSize + kTrailerSize> tail;
  VRAMSNAP_TRY(src->read(S - tail.size(), tail));
  std::copy_n(tail.begin() + kSealSize, kTrailerSize, d->trailer_bytes.begin());
  auto tr = parse_trailer(std::span<const uint8_t, kTrailerSize>(d->trailer_bytes));
  if (!tr.ok()) return std::move(tr).error().with_context(path + ": ");
  const Trailer& t = *tr;
  if (t.file_size != S)
    return bad(path, fmt::format("file is {} bytes but its trailer records {} (truncated, extended or spliced)", S,
                                 t.file_size));
  if (t.seal_offset != S - kTrailerSize - kSealSize || t.seal_offset % kSealAlign != 0)
    return bad(path, "trailer: seal block is not where format v1 puts it");
  auto table_size = core::checked_mul(t.chunk_count, kChunkRecordSize);
  if (t.table_offset < kDataOffset || t.table_offset % kDataAlign != 0 || !table_size ||
      core::checked_add(t.table_offset, *table_size) != t.manifest_offset)
    return bad(path, "trailer: chunk table position is invalid");
  auto manifest_end = core::checked_add(t.manifest_offset, t.manifest_size);
  if (!manifest_end || t.manifest_size == 0 || core::checked_align_up(*manifest_end, kSealAlign) != t.seal_offset)
    return bad(path, "trailer: manifest position is invalid");

  // 2. Seal block.
  auto sb = parse_seal(std::span<const uint8_t, kSealSize>(tail.data(), kSealSize));
  if (!sb.ok()) return std::move(sb).error().with_context(path + ": ");
  d->seal_block = *sb;
  d->seal = seal_info(*sb);
  // Table, manifest and the padding before the seal, in one read; the
  // trailer checks above bound its size by the file and the caps.
  std::vector<uint8_t> meta_area(t.seal_offset - t.table_offset);
  VRAMSNAP_TRY(src->read(t.table_offset, meta_area));
  const std::span<const uint8_t> table(meta_area.data(), *table_size);
  const std::span<const uint8_t> manifest_bytes(meta_area.data() + *table_size, t.manifest_size);
  // Padding between the manifest and the seal must be zero.
  if (!all_zero(std::span<const uint8_t>(meta_area).subspan(*table_size + t.manifest_size)))
    return bad(path, "padding before the seal block is not zero");

  // 3. Header and its padding.
  std::vector<uint8_t> head(kDataOffset);
  VRAMSNAP_TRY(src->read(0, head));
  auto hr = parse_header(std::span<const uint8_t, kHeaderSize>(head.data(), kHeaderSize));
  if (!hr.ok()) return std::move(hr).error().with_context(path + ": ");
  if (!all_zero({head.data() + kHeaderSize, head.size() - kHeaderSize}))
    return bad(path, "header padding is not zero");
  std::copy_n(head.begin(), kHeaderSize, d->header_bytes.begin());
  if (hr->minor != t.minor) return bad(path, "header and trailer disagree on the format version");
  if (Status sf = check_seal_features(d->seal_block.algorithm, hr->required_features); !sf.ok())
    return std::move(sf).error().with_context(path + ": ");

  // 4. Chunk table (bounded: chunk_count <= cap, and it lies inside the file).
  if (crypto::sha256(table) != t.table_hash)
    return Error(ErrorKind::Integrity, path + ": chunk table hash mismatch (file corrupt or tampered)");
  d->chunks.reserve(t.chunk_count);
  for (uint64_t i = 0; i < t.chunk_count; ++i) {
    auto c = parse_record(table.data() + i * kChunkRecordSize, i, hr->required_features & kFeaturePackedRegions);
    if (!c.ok()) return std::move(c).error().with_context(path + ": ");
    // A codec newer than 1.0 is read only under its feature bit (step 4.3).
    const codec::CodecEntry* ce = codec::find_codec(uint8_t(c->codec));
    if (ce && ce->feature && !(hr->required_features & ce->feature))
      return bad(path, fmt::format("chunk table: chunk {}: codec {} needs feature {}, which the header does not set", i,
                                   ce->name, feature_names(ce->feature, known_features())));
    d->chunks.push_back(*c);
  }

  // 5. Manifest.
  if (crypto::sha256(manifest_bytes) != t.manifest_hash)
    return Error(ErrorKind::Integrity, path + ": manifest hash mismatch (file corrupt or tampered)");
  auto mr = parse_manifest({reinterpret_cast<const char*>(manifest_bytes.data()), manifest_bytes.size()},
                           hr->required_features & kFeaturePackedRegions, t.region_count);
  if (!mr.ok()) return std::move(mr).error().with_context(path + ": ");
  d->meta = std::move(mr->meta);
  d->regions = std::move(mr->regions);
  d->meta.id = hr->snapshot_id;
  d->meta.major = hr->major;
  d->meta.minor = hr->minor;
  d->meta.required_features = hr->required_features;
  d->meta.optional_features = hr->optional_features;
  d->chunk_hash = hr->required_features & kFeatureLeafSha256 ? ChunkHashScheme::Leaf16k : ChunkHashScheme::Flat;
  d->meta.chunk_hash = d->chunk_hash == ChunkHashScheme::Leaf16k ? "leaf-sha256-16k" : "sha256";
  if (d->meta.id_hex != crypto::to_hex(hr->snapshot_id))
    return bad(path, "manifest snapshot id differs from the header's");
  if (d->regions.size() != t.region_count) return bad(path, "trailer and manifest disagree on the region count");
  if (auto dup = first_repeated_name(d->regions))
    return bad(path, fmt::format("duplicate region name \"{}\"", d->regions[*dup].name));

  // 6. Cross checks and byte accounting.
  auto& L = d->layout;
  L.file_size = S;
  L.header = kHeaderSize;
  L.header_padding = kDataOffset - kHeaderSize;
  L.data_offset = kDataOffset;
  L.table_offset = t.table_offset;
  L.table = *table_size;
  L.manifest_offset = t.manifest_offset;
  L.manifest = t.manifest_size;
  L.seal_padding = t.seal_offset - *manifest_end;
  L.seal_offset = t.seal_offset;
  L.seal = kSealSize;
  L.trailer_offset = S - kTrailerSize;
  L.trailer = kTrailerSize;
  VRAMSNAP_TRY(check_chunks(*d, t.table_offset));
  d->source = std::move(src);
  return d;
}

}  // namespace

Result<Snapshot> Snapshot::open(std::shared_ptr<const Source> source) {
  if (!source) return Error(ErrorKind::Usage, "Snapshot::open: no source");
  VRAMSNAP_ASSIGN_OR_RETURN(auto d, open_impl(std::move(source)));
  return Snapshot(std::move(d));
}

Result<Snapshot> Snapshot::open(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto src, open_source(path));
  return open(std::move(src));
}

const Source& Snapshot::source() const { return *data_->source; }

const std::string& Snapshot::path() const { return data_->path; }
const SnapshotMeta& Snapshot::meta() const { return data_->meta; }
const std::vector<RegionMeta>& Snapshot::regions() const { return data_->regions; }
const std::vector<ChunkEntry>& Snapshot::chunks() const { return data_->chunks; }
std::span<const ChunkEntry> Snapshot::region_chunks(size_t region) const {
  auto [a, b] = data_->region_ranges.at(region);
  return {data_->chunks.data() + a, b - a};
}
const SealInfo& Snapshot::seal() const { return data_->seal; }
const FileLayout& Snapshot::layout() const { return data_->layout; }
uint64_t Snapshot::region_offset_in_chunk(size_t region) const {
  if (region >= data_->regions.size()) return 0;
  return data_->packed_offset.empty() ? 0 : data_->packed_offset[region];
}
long Snapshot::find_region(const std::string& name) const {
  for (size_t i = 0; i < data_->regions.size(); ++i)
    if (data_->regions[i].name == name) return static_cast<long>(i);
  return -1;
}

namespace format {

uint64_t chunk_extent_end(const ChunkEntry& c) { return core::align_up(c.stored_offset + c.stored_size, kDataAlign); }

std::string chunk_context(const SnapshotData& s, size_t i) {
  const auto& c = s.chunks[i];
  if (c.packed_regions)
    return fmt::format("{}: regions \"{}\" .. \"{}\", packed chunk {} (file offset {})", s.path, s.regions[c.region].name,
                       s.regions[c.region + c.packed_regions - 1].name, i, c.stored_offset);
  return fmt::format("{}: region \"{}\", chunk {} (region offset {}, file offset {})", s.path,
                     s.regions[c.region].name, i, c.region_offset, c.stored_offset);
}

}  // namespace format
}  // namespace vramsnap
