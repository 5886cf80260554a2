// Capture, step 3: header, chunk table, manifest, seal block and trailer.
#include "pipeline/file_tail.h"

#include <openssl/rand.h>

#include <algorithm>

#include <fmt/format.h>

#include "backend/device_source.h"
#include "core/checked_math.h"
#include "codec/registry.h"
#include "crypto/digest.h"
#include "format/binary.h"
#include "format/features.h"
#include "format/manifest.h"
#include "format/seal.h"
#include "vramsnap/text.hpp"

namespace vramsnap::pipeline {
namespace {

SnapshotMeta describe_snapshot(const format::Header& header, bool any_device, const CaptureOptions& opt) {
  SnapshotMeta meta;
  meta.id = header.snapshot_id;
  meta.id_hex = crypto::to_hex(header.snapshot_id);
  meta.created = utc_now_rfc3339();
  meta.tool = std::string("vramsnap ") + VRAMSNAP_VERSION;
  meta.generation = opt.generation;
  meta.labels = opt.labels;
  meta.chunk_size = opt.chunk_size;
  if (opt.source) {
    meta.source = *opt.source;
  } else {
    meta.source.host = describe_source().host;
    if (any_device) backend::describe_gpu(meta.source);
  }
  return meta;
}

}  // namespace

Result<WrittenTail> write_file_tail(const std::vector<RegionInput>& regions, const std::vector<ChunkEntry>& entries,
                                    uint64_t chunk_features, uint64_t data_end, bool any_device,
                                    const CaptureOptions& opt, io::AtomicOutput& out) {
  format::Header header;
  // Feature bits only for what the file uses; the minor is the one they need.
  const bool hashed_chunks =
      std::any_of(entries.begin(), entries.end(), [](const ChunkEntry& e) { return e.codec != Codec::Zero; });
  if (opt.chunk_hash == ChunkHash::LeafSha256 && hashed_chunks)
    header.required_features |= format::kFeatureLeafSha256;
  if (std::any_of(entries.begin(), entries.end(), [](const ChunkEntry& e) { return e.packed_regions != 0; }))
    header.required_features |= format::kFeaturePackedRegions;
  header.required_features |= format::seal_features(opt.key);  // Ed25519: bit 1 (section 9.4)
  for (const auto& e : entries)  // codecs newer than 1.0 (planes: bit 3, section 6.4)
    if (const codec::CodecEntry* c = codec::find_codec(uint8_t(e.codec))) header.required_features |= c->feature;
  header.required_features |= chunk_features;  // f16 split layout: bit 5 (section 6.4.1)
  header.minor = format::minor_for(header.required_features, format::known_features());
  if (RAND_bytes(header.snapshot_id.data(), static_cast<int>(header.snapshot_id.size())) != 1)
    return Error(ErrorKind::Resource, "cannot draw a random snapshot id (RAND_bytes failed)");
  WrittenTail tail;
  tail.meta = describe_snapshot(header, any_device, opt);
  for (const auto& r : regions) tail.regions.push_back(r.meta());

  std::vector<uint8_t> table(entries.size() * format::kChunkRecordSize);
  for (size_t i = 0; i < entries.size(); ++i) format::encode_record(entries[i], &table[i * format::kChunkRecordSize]);
  const std::string manifest = format::encode_manifest(tail.meta, tail.regions,
                                                       header.required_features & format::kFeaturePackedRegions);
  if (manifest.size() > format::kMaxManifestSize)
    return Error(ErrorKind::Limit, fmt::format("manifest of {} bytes exceeds the cap of {}", manifest.size(), format::kMaxManifestSize));
  const std::span<const uint8_t> manifest_bytes(reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size());

  // Table, manifest, padding to a 512-byte boundary, seal block, trailer.
  format::Trailer tr;
  tr.minor = header.minor;
  tr.table_offset = data_end;
  tr.chunk_count = entries.size();
  tr.region_count = static_cast<uint32_t>(regions.size());
  tr.manifest_offset = tr.table_offset + table.size();
  tr.manifest_size = manifest.size();
  tr.seal_offset = core::align_up(tr.manifest_offset + tr.manifest_size, format::kSealAlign);
  tr.file_size = tr.seal_offset + format::kSealSize + format::kTrailerSize;
  tr.table_hash = crypto::sha256(table);
  tr.manifest_hash = crypto::sha256(manifest_bytes);
  const auto header_bytes = format::encode_header(header);
  const auto trailer_bytes = format::encode_trailer(tr);
  format::SealBlock seal;
  if (opt.key) {
    VRAMSNAP_ASSIGN_OR_RETURN(seal, format::make_seal(*opt.key, header_bytes, trailer_bytes));
  }
  const auto seal_bytes = format::encode_seal(seal);

  VRAMSNAP_TRY(out.write_at(header_bytes, 0));
  VRAMSNAP_TRY(out.write_at(table, tr.table_offset));
  VRAMSNAP_TRY(out.write_at(manifest_bytes, tr.manifest_offset));
  const std::vector<uint8_t> pad(tr.seal_offset - (tr.manifest_offset + tr.manifest_size), 0);
  VRAMSNAP_TRY(out.write_at(pad, tr.manifest_offset + tr.manifest_size));
  VRAMSNAP_TRY(out.write_at(seal_bytes, tr.seal_offset));
  VRAMSNAP_TRY(out.write_at(trailer_bytes, tr.seal_offset + format::kSealSize));
  tail.file_size = tr.file_size;
  tail.seal = format::seal_info(seal);
  return tail;
}

}  // namespace vramsnap::pipeline
