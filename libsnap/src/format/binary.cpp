#include "format/binary.h"

#include <algorithm>

#include <fmt/format.h>

#include "codec/registry.h"
#include "crypto/digest.h"
#include "format/features.h"
#include "format/seal/registry.h"

namespace vramsnap::format {
namespace {

Error bad(std::string msg) { return Error(ErrorKind::Format, std::move(msg)); }

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

// First 8 bytes of SHA-256 over a prefix: a self-check for structures that
// must be readable before anything else can be verified.
std::array<uint8_t, 8> check8(const uint8_t* p, size_t n) {
  auto d = crypto::sha256({p, n});
  std::array<uint8_t, 8> out;
  std::copy_n(d.begin(), 8, out.begin());
  return out;
}

}  // namespace

HeaderBytes encode_header(const Header& h) {
  HeaderBytes b{};
  std::copy(kHeaderMagic.begin(), kHeaderMagic.end(), b.begin() + hdr::kMagic);
  store_u16(&b[hdr::kMajor], h.major);
  store_u16(&b[hdr::kMinor], h.minor);
  store_u32(&b[hdr::kHeaderSize], kHeaderSize);
  store_u64(&b[hdr::kRequired], h.required_features);
  store_u64(&b[hdr::kOptional], h.optional_features);
  std::copy(h.snapshot_id.begin(), h.snapshot_id.end(), b.begin() + hdr::kSnapshotId);
  store_u32(&b[hdr::kDataAlign], static_cast<uint32_t>(kDataAlign));
  auto c = check8(b.data(), hdr::kCheck);
  std::copy(c.begin(), c.end(), b.begin() + hdr::kCheck);
  return b;
}

Result<Header> parse_header(std::span<const uint8_t, kHeaderSize> b) {
  if (!std::equal(kHeaderMagic.begin(), kHeaderMagic.end(), b.begin()))
    return bad("not a vramsnap snapshot (bad header magic)");
  Header h;
  h.major = load_u16(&b[hdr::kMajor]);
  h.minor = load_u16(&b[hdr::kMinor]);
  if (h.major != kMajorVersion)
    return bad(fmt::format("unsupported format version {}.{} (this vramsnap reads {}.x)", h.major, h.minor,
                           kMajorVersion));
  if (load_u32(&b[hdr::kHeaderSize]) != kHeaderSize) return bad("header: bad header size field");
  if (load_u32(&b[hdr::kDataAlign]) != kDataAlign) return bad("header: bad data alignment field");
  if (load_u32(&b[hdr::kReserved]) != 0) return bad("header: reserved field is not zero");
  auto c = check8(b.data(), hdr::kCheck);
  if (!std::equal(c.begin(), c.end(), b.begin() + hdr::kCheck)) return bad("header: check value mismatch (header corrupt)");
  h.required_features = load_u64(&b[hdr::kRequired]);
  h.optional_features = load_u64(&b[hdr::kOptional]);
  VRAMSNAP_TRY(check_required_features(h.required_features, h.minor, known_features()));
  std::copy_n(b.begin() + hdr::kSnapshotId, 16, h.snapshot_id.begin());
  return h;
}

TrailerBytes encode_trailer(const Trailer& t) {
  TrailerBytes b{};
  store_u64(&b[trl::kTableOffset], t.table_offset);
  store_u64(&b[trl::kChunkCount], t.chunk_count);
  store_u32(&b[trl::kRecordSize], kChunkRecordSize);
  store_u32(&b[trl::kRegionCount], t.region_count);
  store_u64(&b[trl::kManifestOffset], t.manifest_offset);
  store_u64(&b[trl::kManifestSize], t.manifest_size);
  store_u64(&b[trl::kSealOffset], t.seal_offset);
  store_u64(&b[trl::kFileSize], t.file_size);
  store_u16(&b[trl::kMajor], t.major);
  store_u16(&b[trl::kMinor], t.minor);
  std::copy(t.table_hash.begin(), t.table_hash.end(), b.begin() + trl::kTableHash);
  std::copy(t.manifest_hash.begin(), t.manifest_hash.end(), b.begin() + trl::kManifestHash);
  store_u64(&b[trl::kDataOffset], kDataOffset);
  auto c = check8(b.data(), trl::kCheck);
  std::copy(c.begin(), c.end(), b.begin() + trl::kCheck);
  std::copy(kTrailerMagic.begin(), kTrailerMagic.end(), b.begin() + trl::kMagic);
  return b;
}

Result<Trailer> parse_trailer(std::span<const uint8_t, kTrailerSize> b) {
  if (!std::equal(kTrailerMagic.begin(), kTrailerMagic.end(), b.begin() + trl::kMagic))
    return bad("not a vramsnap snapshot, or truncated (no trailer magic at the end of the file)");
  auto c = check8(b.data(), trl::kCheck);
  if (!std::equal(c.begin(), c.end(), b.begin() + trl::kCheck)) return bad("trailer: check value mismatch (trailer corrupt)");
  Trailer t;
  t.table_offset = load_u64(&b[trl::kTableOffset]);
  t.chunk_count = load_u64(&b[trl::kChunkCount]);
  t.region_count = load_u32(&b[trl::kRegionCount]);
  t.manifest_offset = load_u64(&b[trl::kManifestOffset]);
  t.manifest_size = load_u64(&b[trl::kManifestSize]);
  t.seal_offset = load_u64(&b[trl::kSealOffset]);
  t.file_size = load_u64(&b[trl::kFileSize]);
  t.major = load_u16(&b[trl::kMajor]);
  t.minor = load_u16(&b[trl::kMinor]);
  std::copy_n(b.begin() + trl::kTableHash, 32, t.table_hash.begin());
  std::copy_n(b.begin() + trl::kManifestHash, 32, t.manifest_hash.begin());
  if (t.major != kMajorVersion)
    return bad(fmt::format("unsupported format version {}.{} (this vramsnap reads {}.x)", t.major, t.minor,
                           kMajorVersion));
  if (load_u32(&b[trl::kRecordSize]) != kChunkRecordSize) return bad("trailer: unknown chunk record size");
  if (load_u32(&b[trl::kReserved0]) != 0 || load_u64(&b[trl::kReserved1]) != 0)
    return bad("trailer: reserved field is not zero");
  if (load_u64(&b[trl::kDataOffset]) != kDataOffset) return bad("trailer: bad data offset");
  if (t.chunk_count > kMaxChunkCount)
    return Error(ErrorKind::Format, fmt::format("trailer: {} chunks exceeds the cap of {}", t.chunk_count, kMaxChunkCount));
  if (t.region_count > kMaxRegionCount)
    return Error(ErrorKind::Format, fmt::format("trailer: {} regions exceeds the cap of {}", t.region_count, kMaxRegionCount));
  if (t.manifest_size > kMaxManifestSize)
    return Error(ErrorKind::Format, fmt::format("trailer: manifest of {} bytes exceeds the cap of {}", t.manifest_size, kMaxManifestSize));
  return t;
}

SealBytes encode_seal(const SealBlock& s) {
  SealBytes b{};
  std::copy(kSealMagic.begin(), kSealMagic.end(), b.begin() + seal::kMagic);
  store_u32(&b[seal::kAlgorithm], s.algorithm);
  if (s.algorithm != kSealNone) {
    std::copy(s.key_id.begin(), s.key_id.end(), b.begin() + seal::kKeyId);
    std::copy(s.tag.begin(), s.tag.end(), b.begin() + seal::kTag);
  }
  return b;
}

Result<SealBlock> parse_seal(std::span<const uint8_t, kSealSize> b) {
  if (!std::equal(kSealMagic.begin(), kSealMagic.end(), b.begin() + seal::kMagic))
    return bad("seal block: bad magic (seal block corrupt)");
  SealBlock s;
  s.algorithm = load_u32(&b[seal::kAlgorithm]);
  if (load_u32(&b[seal::kReserved0]) != 0 || load_u64(&b[seal::kReserved1]) != 0)
    return bad("seal block: reserved field is not zero");
  if (s.algorithm == kSealNone) {
    if (!all_zero(&b[seal::kKeyId], kKeyIdSize) || !all_zero(&b[seal::kTag], seal::kTagSize))
      return bad("seal block: unsealed but key id or tag is not zero");
    return s;
  }
  const SealAlgorithm* alg = find_seal_algorithm(s.algorithm);
  if (!alg) return bad(fmt::format("seal block: unknown seal algorithm {} (upgrade vramsnap)", s.algorithm));
  std::copy_n(b.begin() + seal::kKeyId, kKeyIdSize, s.key_id.begin());
  std::copy_n(b.begin() + seal::kTag, alg->tag_size, s.tag.begin());
  if (!all_zero(&b[seal::kTag + alg->tag_size], seal::kTagSize - alg->tag_size))
    return bad("seal block: unused tag bytes are not zero");
  return s;
}

void encode_record(const ChunkEntry& c, uint8_t* out) {
  std::fill_n(out, kChunkRecordSize, 0);
  store_u32(out + rec::kRegion, c.region);
  out[rec::kCodec] = static_cast<uint8_t>(c.codec);
  out[rec::kElemSize] = c.elem_size;
  if (c.packed_regions) store_u16(out + rec::kFlags, kFlagPacked);
  store_u64(out + rec::kRegionOffset, c.packed_regions ? c.packed_regions : c.region_offset);
  store_u64(out + rec::kRawSize, c.raw_size);
  store_u64(out + rec::kStoredOffset, c.stored_offset);
  store_u64(out + rec::kStoredSize, c.stored_size);
  std::copy(c.hash.begin(), c.hash.end(), out + rec::kHash);
}

Result<ChunkEntry> parse_record(const uint8_t* in, uint64_t index, bool packed_allowed) {
  auto where = [&](std::string msg) { return bad(fmt::format("chunk table: chunk {}: {}", index, msg)); };
  ChunkEntry c;
  c.region = load_u32(in + rec::kRegion);
  const uint8_t codec_id = in[rec::kCodec];
  const codec::CodecEntry* info = codec::find_codec(codec_id);
  if (!info) return where(fmt::format("unknown codec id {}", codec_id));
  c.codec = info->id;
  c.elem_size = in[rec::kElemSize];
  const uint16_t flags = load_u16(in + rec::kFlags);
  if (flags != 0 && !(packed_allowed && flags == kFlagPacked)) return where("unknown flags");
  c.region_offset = load_u64(in + rec::kRegionOffset);
  if (flags == kFlagPacked) {
    // Packed (section 5.5): the field holds the region count; the region cap
    // bounds it long before 32 bits do.
    if (c.region_offset < 2) return where("packed chunk of fewer than two regions");
    if (c.region_offset > kMaxRegionCount)
      return where(fmt::format("packed chunk of {} regions exceeds the region cap of {}", c.region_offset, kMaxRegionCount));
    c.packed_regions = static_cast<uint32_t>(c.region_offset);
    c.region_offset = 0;
  }
  c.raw_size = load_u64(in + rec::kRawSize);
  c.stored_offset = load_u64(in + rec::kStoredOffset);
  c.stored_size = load_u64(in + rec::kStoredSize);
  std::copy_n(in + rec::kHash, 32, c.hash.begin());
  if (c.raw_size == 0) return where("raw size is zero");
  if (c.raw_size > kMaxChunkRawSize)
    return where(fmt::format("raw size {} exceeds the cap of {}", c.raw_size, kMaxChunkRawSize));
  if (info->elem_size_ok) {
    if (!info->elem_size_ok(c.elem_size))
      return where(fmt::format("{} element size {} (must be {})", info->name, c.elem_size, info->elem_sizes));
  } else if (c.elem_size != 0) {
    return where("element size set for a codec that has none");
  }
  switch (info->stored) {
    case codec::StoredBytes::None:
      if (c.stored_size != 0 || c.stored_offset != 0) return where(fmt::format("{} chunk with stored bytes", info->name));
      break;
    case codec::StoredBytes::Verbatim:
      if (c.stored_size != c.raw_size)
        return where(fmt::format("{} chunk whose stored size differs from its raw size", info->name));
      break;
    case codec::StoredBytes::Compressed:
      if (c.stored_size == 0 || c.stored_size > c.raw_size)
        return where(fmt::format("compressed chunk of {} stored bytes for {} raw bytes", c.stored_size, c.raw_size));
      break;
  }
  return c;
}

}  // namespace vramsnap::format
