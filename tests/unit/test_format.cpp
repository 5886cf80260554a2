// Format v1 structure: what Snapshot::open (and, for chunk codecs, verify with
// decode and restore) refuse.
//
// Crafted files are built by taking a snapshot the library wrote apart
// (test_support.h: parse) and laying it out again with correct table and
// manifest hashes, offsets and trailer check value (build), so that only the
// semantic check under test can catch the defect.
#include "test_support.h"

#include <zstd.h>

#include <map>
#include <sstream>

#include "crypto/leaf_hash.h"
#include "format/features.h"
#include "format/names.h"

using namespace vtest;
using vramsnap::RestoreOptions;
using vramsnap::Snapshot;
using nlohmann::json;

namespace {

// The base snapshot of most cases (unsealed, ~60 KiB, codec shuffle asked
// for, so the bf16 region is not stored with planes as auto would):
//   region 0 "layers/0/w"  bf16, 70 KiB  -> chunks 0, 1 (shuffle)
//   region 1 "kv/zero"     u8, 100 KiB of zeros -> chunks 2, 3 (zero)
//   region 2 "empty"       0 bytes -> no chunk
//   region 3 "text"        u8, 10 KiB of text -> chunk 4 (zstd)
struct Base {
  TempDir dir{"fmt"};
  std::vector<RegionData> regions;
  Bytes bytes;
  SnapFile sf;

  Base() {
    regions.push_back(region("layers/0/w", bf16_like(70 * KiB, 11), "bf16"));
    regions.back().meta.shape = {35840};
    regions.push_back(region("kv/zero", Bytes(100 * KiB, 0), "u8"));
    regions.push_back(region("empty", {}, "u8"));
    regions.push_back(region("text", text_like(10 * KiB, 12), "u8"));
    auto opt = capture_options();
    opt.codec = vramsnap::CodecChoice::Shuffle;
    bytes = make_snapshot(dir / "base.snap", regions, opt);
    sf = parse(bytes);
    REQUIRE(sf.records.size() == 5);
    REQUIRE(sf.records[0].codec == 3);
    REQUIRE(sf.records[1].codec == 3);
    REQUIRE(sf.records[2].codec == 0);
    REQUIRE(sf.records[3].codec == 0);
    REQUIRE(sf.records[4].codec == 2);
  }

  // Writes bytes to a fresh file and opens it.
  vramsnap::Result<Snapshot> open(const Bytes& b, const std::string& name = "t.snap") {
    write_file(dir / name, b);
    return Snapshot::open(dir / name);
  }
};

// Opens the file and, if that works, verifies it with decoding (unsealed
// allowed): the outcome of a full check of the structure and every chunk.
vramsnap::Status open_and_verify(const std::string& path) {
  auto s = Snapshot::open(path);
  if (!s.ok()) return std::move(s).error();
  auto v = vramsnap::verify(*s, unsealed_verify(true));
  if (!v.ok()) return std::move(v).error();
  return {};
}

// ---- zstd frame crafting (RFC 8878 section 3.1.1) ----

Bytes zstd_compress(const Bytes& content, int level = 3) {
  Bytes out(ZSTD_compressBound(content.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), content.data(), content.size(), level);
  REQUIRE(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Re-frames the blocks of `frame` under a hand-made frame header:
// single_segment, optional window descriptor (non single-segment only),
// optional 1-byte dictionary id, and a 4-byte Frame_Content_Size when
// fcs is set (else no content size field; only valid without single_segment).
Bytes reframe(const Bytes& frame, bool single_segment, std::optional<uint8_t> window_descriptor,
              std::optional<uint8_t> dict_id, std::optional<uint32_t> fcs) {
  // Frame header size from its descriptor (RFC 8878 3.1.1.1).
  REQUIRE(frame.size() > 5);
  const uint8_t d = frame[4];
  const bool single = d & 0x20;
  const size_t dict_sizes[] = {0, 1, 2, 4};
  const size_t fcs_sizes[] = {size_t(single ? 1 : 0), 2, 4, 8};
  const size_t hs = 4 + 1 + (single ? 0 : 1) + dict_sizes[d & 3] + fcs_sizes[d >> 6];
  REQUIRE((frame[4] & 0x04) == 0);  // no content checksum in our frames
  Bytes out = {0x28, 0xB5, 0x2F, 0xFD};
  uint8_t fhd = 0;
  if (fcs) fhd |= 2 << 6;  // FCS_Field_Size 4
  if (single_segment) fhd |= 0x20;
  if (dict_id) fhd |= 1;   // Dictionary_ID_Field_Size 1
  out.push_back(fhd);
  if (!single_segment) {
    REQUIRE(window_descriptor.has_value());
    out.push_back(*window_descriptor);
  }
  if (dict_id) out.push_back(*dict_id);
  if (fcs) {
    uint8_t b[4];
    put_le(b, *fcs, 4);
    out.insert(out.end(), b, b + 4);
  }
  out.insert(out.end(), frame.begin() + static_cast<std::ptrdiff_t>(hs), frame.end());
  return out;
}

// Base with chunk 4 (zstd, "text") replaced by `stored`, its hash recomputed.
Bytes with_zstd_chunk(Base& b, const Bytes& stored) {
  SnapFile s = b.sf;
  auto all = all_stored(s);
  all[4] = stored;
  relayout(s, all, /*rehash=*/true);
  return build(s);
}

}  // namespace

// ---- the test helpers themselves ------------------------------------------------

TEST_CASE("format: the test serialiser reproduces captured files byte for byte") {
  Base b;
  CHECK(build(b.sf) == b.bytes);
  SnapFile s = b.sf;
  relayout(s, all_stored(s), true);
  CHECK(build(s) == b.bytes);

  // Sealed by the library and by the serialiser: identical.
  const KeyBytes k = key_bytes(0x40);
  const auto key = make_key(k);
  auto opt = capture_options();
  opt.key = &key;
  opt.codec = vramsnap::CodecChoice::Shuffle;  // as the base
  const Bytes sealed = make_snapshot(b.dir / "sealed.snap", b.regions, opt);
  SnapFile ss = parse(sealed);
  BuildOptions bo;
  bo.seal_key = k;
  CHECK(build(ss, bo) == sealed);
  CHECK(hex(key_id_of(k)) == key.id_hex());
}

// ---- 1. empty, short, truncated ---------------------------------------------------

TEST_CASE("format: empty and too-short files") {
  Base b;
  VT_CHECK_ERROR(b.open({}), ErrorKind::Format, "too short to be a snapshot");
  VT_CHECK_ERROR(b.open(Bytes(1, 0x89)), ErrorKind::Format, "too short");
  // Header + trailer of a real file, glued: shorter than 4096 + 128 + 160.
  Bytes glued(b.bytes.begin(), b.bytes.begin() + 64);
  glued.insert(glued.end(), b.bytes.end() - 160, b.bytes.end());
  VT_CHECK_ERROR(b.open(glued), ErrorKind::Format, "too short");
  VT_CHECK_ERROR(b.open(Bytes(4383, 0)), ErrorKind::Format, "is 4383 bytes, too short");
  VT_CHECK_ERROR(b.open(Bytes(4384, 0)), ErrorKind::Format, "not a vramsnap snapshot, or truncated");
  // The last 4384 bytes of a real snapshot: trailer intact, but it records another size.
  Bytes tail(b.bytes.end() - 4384, b.bytes.end());
  VT_CHECK_ERROR(b.open(tail), ErrorKind::Format, "truncated, extended or spliced");
}

TEST_CASE("format: truncation at every offset is refused") {
  Base b;
  const std::string p = b.dir / "trunc.snap";
  write_file(p, b.bytes);
  REQUIRE(Snapshot::open(p).ok());
  int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  size_t bad = 0;
  for (uint64_t n = b.bytes.size(); n-- > 0;) {
    REQUIRE(::ftruncate(fd, static_cast<off_t>(n)) == 0);
    auto r = Snapshot::open(p);
    const bool refused = !r.ok() && (r.error().kind() == ErrorKind::Format || r.error().kind() == ErrorKind::Integrity);
    if (!refused && ++bad <= 5)
      FAIL_CHECK("truncated to " << n << " of " << b.bytes.size() << " bytes: " << message_of(r));
  }
  ::close(fd);
  CHECK(bad == 0);
}

// ---- 2. trailing and inserted bytes ------------------------------------------------

TEST_CASE("format: bytes appended after the trailer") {
  Base b;
  for (size_t n : {size_t(1), size_t(160), size_t(512), size_t(4096)}) {
    CAPTURE(n);
    Bytes f = b.bytes;
    f.insert(f.end(), n, 0);
    VT_CHECK_ERROR(b.open(f), ErrorKind::Format, "not a vramsnap snapshot, or truncated");
  }
  // A second copy of the trailer at the end: magic and check pass, the size does not.
  Bytes f = b.bytes;
  f.insert(f.end(), b.bytes.end() - 160, b.bytes.end());
  VT_CHECK_ERROR(b.open(f), ErrorKind::Format, "truncated, extended or spliced");
  // A whole second snapshot appended.
  f = b.bytes;
  f.insert(f.end(), b.bytes.begin(), b.bytes.end());
  VT_CHECK_ERROR(b.open(f), ErrorKind::Format, "truncated, extended or spliced");
}

TEST_CASE("format: bytes inserted in the middle") {
  Base b;
  const Offsets o = offsets_of(b.bytes);
  const Bytes one = {0x00};
  const Bytes block(4096, 0);
  struct Where {
    const char* name;
    uint64_t offset;
  };
  for (const Where& w : {Where{"header padding", 100}, Where{"data area", 4096 + 10}, Where{"table", o.table + 7},
                         Where{"manifest", o.manifest + 3}, Where{"seal padding", o.manifest_end},
                         Where{"seal block", o.seal + 1}, Where{"trailer", o.trailer + 1}}) {
    const std::string case_name = w.name;
    CAPTURE(case_name);
    for (const Bytes* ins : {&one, &block}) {
      auto r = b.open(insert_at(b.bytes, w.offset, *ins));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind() == ErrorKind::Format);
    }
  }
  // With the trailer rebuilt around the insertion, the structural checks still catch it.
  SUBCASE("a block inserted before the first chunk, trailer rebuilt") {
    SnapFile s = b.sf;
    s.data.insert(s.data.begin(), 4096, 0);
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "data area ends at");
    for (auto& r : s.records)
      if (r.codec != 0) r.stored_offset += 4096;  // records follow their bytes: a hole at the start
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "is stored at offset 8192 but the data area continues at 4096");
  }
  SUBCASE("a block inserted after the last chunk, trailer rebuilt") {
    SnapFile s = b.sf;
    s.data.insert(s.data.end(), 4096, 0);
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "data area ends at");
  }
  SUBCASE("a record inserted into the table, table hash rebuilt") {
    SnapFile s = b.sf;
    s.records.insert(s.records.begin() + 1, s.records[0]);
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "gap, overlap or duplicate");
  }
  SUBCASE("garbage inserted into the manifest, manifest hash rebuilt") {
    SnapFile s = b.sf;
    s.manifest.insert(1, "garbage");
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "manifest: not valid JSON");
  }
  SUBCASE("without rebuilding the hashes: integrity errors") {
    SnapFile s = b.sf;
    s.manifest.insert(1, " ");
    Bytes f = build(s);
    // Restore the original manifest hash, keep the new layout.
    Bytes t(b.bytes.end() - 160, b.bytes.end());
    std::copy(t.begin() + 96, t.begin() + 128, f.end() - 160 + 96);
    auto c = h8({f.data() + f.size() - 160, 144});
    std::copy(c.begin(), c.end(), f.end() - 16);
    VT_CHECK_ERROR(b.open(f), ErrorKind::Integrity, "manifest hash mismatch");
  }
}

// ---- 3. magic, versions, feature bits ----------------------------------------------

TEST_CASE("format: header magic, version, fields and check value") {
  Base b;
  SUBCASE("bad magic") {
    for (size_t i = 0; i < 8; ++i) {
      CAPTURE(i);
      VT_CHECK_ERROR(b.open(flip_bit(b.bytes, i, 1)), ErrorKind::Format, "bad header magic");
    }
    SnapFile s = b.sf;
    std::memcpy(s.head.data(), "\x89PNG\r\n\x1a\n", 8);
    s.rehash_header();
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "not a vramsnap snapshot (bad header magic)");
  }
  SUBCASE("unknown major version, with a correct check value") {
    for (uint16_t major : {uint16_t(0), uint16_t(2), uint16_t(0xffff)}) {
      CAPTURE(major);
      SnapFile s = b.sf;
      s.set_header_field(L::hdr::kMajor, major, 2);
      VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "unsupported format version " + std::to_string(major) + ".");
    }
  }
  SUBCASE("unknown major version in the trailer") {
    SnapFile s = b.sf;
    BuildOptions bo;
    bo.edit_trailer = [](uint8_t* t) { put_le(t + L::trl::kMajor, 2, 2); };
    VT_CHECK_ERROR(b.open(build(s, bo)), ErrorKind::Format, "unsupported format version 2.");
  }
  SUBCASE("reserved header fields") {
    struct F {
      size_t off;
      uint64_t value;
      int width;
      const char* msg;
    };
    for (const F& f : {F{L::hdr::kHeaderSize, 65, 4, "bad header size field"},
                       F{L::hdr::kHeaderSize, 0, 4, "bad header size field"},
                       F{L::hdr::kDataAlign, 512, 4, "bad data alignment field"},
                       F{L::hdr::kDataAlign, 8192, 4, "bad data alignment field"},
                       F{L::hdr::kReserved, 1, 4, "reserved field is not zero"}}) {
      const std::string case_name = f.msg;
    CAPTURE(case_name);
      SnapFile s = b.sf;
      s.set_header_field(f.off, f.value, f.width);
      VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, f.msg);
    }
  }
  SUBCASE("check value") {
    for (size_t i : {size_t(32), size_t(47), size_t(56), size_t(63)}) {
      CAPTURE(i);
      VT_CHECK_ERROR(b.open(flip_bit(b.bytes, i)), ErrorKind::Format, "header: check value mismatch");
    }
  }
  SUBCASE("header padding") {
    for (size_t i : {size_t(64), size_t(1000), size_t(4095)}) {
      CAPTURE(i);
      VT_CHECK_ERROR(b.open(flip_bit(b.bytes, i, 7)), ErrorKind::Format, "header padding is not zero");
    }
  }
  SUBCASE("another snapshot id in the header than in the manifest") {
    SnapFile s = b.sf;
    s.head[L::hdr::kSnapshotId] ^= 1;
    s.rehash_header();
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "manifest snapshot id differs from the header's");
  }
}

TEST_CASE("format: required feature bits are refused, optional ones ignored") {
  Base b;
  for (uint64_t bits : {uint64_t(1) << 17, uint64_t(1) << 63, ~uint64_t(0)}) {
    CAPTURE(bits);
    SnapFile s = b.sf;
    s.set_header_field(L::hdr::kRequired, bits, 8);
    char hexbits[32];
    // Bits 0 (leaf-sha256), 1 (ed25519), 2 (packed-regions), 3 (planes),
    // 4 (palette) and 5 (f16-split) are known: only the others are named.
    std::snprintf(hexbits, sizeof hexbits, "(bits 0x%llx)", static_cast<unsigned long long>(bits & ~uint64_t(0x3f)));
    auto r = b.open(build(s));
    VT_CHECK_ERROR(r, ErrorKind::Format, "requires format features this vramsnap does not know");
    VT_CHECK_ERROR(r, ErrorKind::Format, hexbits);
  }
  for (uint64_t bits : {uint64_t(1), uint64_t(1) << 63, ~uint64_t(0)}) {
    CAPTURE(bits);
    SnapFile s = b.sf;
    s.set_header_field(L::hdr::kOptional, bits, 8);
    write_file(b.dir / "opt.snap", build(s));
    auto snap = Snapshot::open(b.dir / "opt.snap");
    REQUIRE_MESSAGE(snap.ok(), message_of(snap));
    CHECK(snap->meta().optional_features == bits);
    auto v = vramsnap::verify(*snap, unsealed_verify(true));
    CHECK_MESSAGE(v.ok(), message_of(v));
  }
}

TEST_CASE("format: minor versions are accepted when header and trailer agree") {
  Base b;
  SnapFile s = b.sf;
  s.set_header_field(L::hdr::kMinor, 3, 2);
  BuildOptions bo;
  bo.edit_trailer = [](uint8_t* t) { put_le(t + L::trl::kMinor, 3, 2); };
  write_file(b.dir / "minor.snap", build(s, bo));
  auto snap = Snapshot::open(b.dir / "minor.snap");
  REQUIRE_MESSAGE(snap.ok(), message_of(snap));
  CHECK(snap->meta().minor == 3);
  CHECK(vramsnap::verify(*snap, unsealed_verify(true)).ok());
  // Disagreement is refused, either way round.
  VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "header and trailer disagree on the format version");
  VT_CHECK_ERROR(b.open(build(b.sf, bo)), ErrorKind::Format, "header and trailer disagree on the format version");
}

// ---- trailer and seal block fields --------------------------------------------------

TEST_CASE("format: trailer fields") {
  Base b;
  const Offsets o = offsets_of(b.bytes);
  struct Case {
    const char* name;
    std::function<void(uint8_t*)> edit;
    ErrorKind kind;
    std::string msg;
  };
  auto u64 = [](size_t off, uint64_t v) { return [=](uint8_t* t) { put_le(t + off, v, 8); }; };
  auto u32 = [](size_t off, uint64_t v) { return [=](uint8_t* t) { put_le(t + off, v, 4); }; };
  const uint64_t M = UINT64_MAX;
  std::vector<Case> cases = {
      {"record size", u32(L::trl::kRecordSize, 73), ErrorKind::Format, "unknown chunk record size"},
      {"reserved0", u32(L::trl::kReserved0, 1), ErrorKind::Format, "trailer: reserved field is not zero"},
      {"reserved1", u64(L::trl::kReserved1, 1ull << 40), ErrorKind::Format, "trailer: reserved field is not zero"},
      {"data offset", u64(L::trl::kDataOffset, 8192), ErrorKind::Format, "trailer: bad data offset"},
      {"chunk count above the cap", u64(L::trl::kChunkCount, (1ull << 22) + 1), ErrorKind::Format,
       "chunks exceeds the cap of 4194304"},
      {"chunk count 2^64-1", u64(L::trl::kChunkCount, M), ErrorKind::Format, "exceeds the cap"},
      {"chunk count at the cap, table beyond the file", u64(L::trl::kChunkCount, 1ull << 22), ErrorKind::Format,
       "chunk table position is invalid"},
      {"chunk count x 72 consistent with a manifest offset beyond the file",
       [&](uint8_t* t) {
         put_le(t + L::trl::kChunkCount, 1ull << 22, 8);
         put_le(t + L::trl::kManifestOffset, o.table + 72 * (1ull << 22), 8);
       },
       ErrorKind::Format, "manifest position is invalid"},
      {"region count above the cap", u32(L::trl::kRegionCount, 65537), ErrorKind::Format, "regions exceeds the cap of 65536"},
      {"region count 2^32-1", u32(L::trl::kRegionCount, 0xffffffff), ErrorKind::Format, "exceeds the cap"},
      {"region count differs from the manifest", u32(L::trl::kRegionCount, 5), ErrorKind::Format,
       "trailer and manifest disagree on the region count"},
      {"region count 0", u32(L::trl::kRegionCount, 0), ErrorKind::Format, "disagree on the region count"},
      {"manifest size above the cap", u64(L::trl::kManifestSize, (64ull << 20) + 1), ErrorKind::Format,
       "exceeds the cap of 67108864"},
      {"manifest size 2^64-1", u64(L::trl::kManifestSize, M), ErrorKind::Format, "exceeds the cap"},
      {"manifest size 0", u64(L::trl::kManifestSize, 0), ErrorKind::Format, "manifest position is invalid"},
      {"manifest runs into the seal block", u64(L::trl::kManifestSize, o.seal - o.manifest + 1), ErrorKind::Format,
       "manifest position is invalid"},
      {"manifest offset 2^64-1", u64(L::trl::kManifestOffset, M), ErrorKind::Format, "chunk table position is invalid"},
      {"table offset 0", u64(L::trl::kTableOffset, 0), ErrorKind::Format, "chunk table position is invalid"},
      {"table offset unaligned", u64(L::trl::kTableOffset, o.table + 8), ErrorKind::Format, "chunk table position is invalid"},
      {"table offset 2^64-4096", u64(L::trl::kTableOffset, M - 4095), ErrorKind::Format, "chunk table position is invalid"},
      {"table offset + 72 x count wraps around 2^64 to the manifest offset",
       [&](uint8_t* t) {
         put_le(t + L::trl::kTableOffset, M - 4095, 8);
         put_le(t + L::trl::kChunkCount, 1ull << 22, 8);
         put_le(t + L::trl::kManifestOffset, (M - 4095) + 72 * (1ull << 22), 8);  // wraps to a small value
       },
       ErrorKind::Format, "chunk table position is invalid"},
      {"seal offset moved", u64(L::trl::kSealOffset, o.seal - 512), ErrorKind::Format,
       "seal block is not where format v1 puts it"},
      {"seal offset 2^64-1", u64(L::trl::kSealOffset, M), ErrorKind::Format, "seal block is not where"},
      {"file size one less", u64(L::trl::kFileSize, o.size - 1), ErrorKind::Format, "truncated, extended or spliced"},
      {"file size 2^64-1", u64(L::trl::kFileSize, M), ErrorKind::Format, "truncated, extended or spliced"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    BuildOptions bo;
    bo.edit_trailer = c.edit;
    VT_CHECK_ERROR(b.open(build(b.sf, bo)), c.kind, c.msg);
  }
  SUBCASE("check value and magic") {
    for (uint64_t i = 0; i < 152; i += 13) {
      CAPTURE(i);
      VT_CHECK_ERROR(b.open(flip_bit(b.bytes, o.trailer + i, 3)), ErrorKind::Format, "trailer: check value mismatch");
    }
    for (uint64_t i = 152; i < 160; ++i) {
      CAPTURE(i);
      VT_CHECK_ERROR(b.open(flip_bit(b.bytes, o.trailer + i, 5)), ErrorKind::Format, "no trailer magic");
    }
  }
}

TEST_CASE("format: seal block fields and the padding before it") {
  Base b;
  const Offsets o = offsets_of(b.bytes);
  auto with_seal = [&](std::function<void(uint8_t*)> edit) {
    SnapFile s = b.sf;
    edit(s.seal.data());
    return build(s);
  };
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) { p[0] = 'X'; })), ErrorKind::Format, "seal block: bad magic");
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) { put_le(p + 8, 3, 4); })), ErrorKind::Format,
                 "unknown seal algorithm 3");
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) { put_le(p + 8, 0xffffffff, 4); })), ErrorKind::Format,
                 "unknown seal algorithm");
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) { p[12] = 1; })), ErrorKind::Format, "seal block: reserved field");
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) { p[31] = 1; })), ErrorKind::Format, "seal block: reserved field");
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) { p[16] = 1; })), ErrorKind::Format,
                 "unsealed but key id or tag is not zero");
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) { p[127] = 1; })), ErrorKind::Format,
                 "unsealed but key id or tag is not zero");
  // Algorithm 1 with bytes in the unused part of the tag.
  VT_CHECK_ERROR(b.open(with_seal([](uint8_t* p) {
                   put_le(p + 8, 1, 4);
                   p[16] = 0xaa;
                   p[32] = 0xbb;
                   p[64] = 1;
                 })),
                 ErrorKind::Format, "unused tag bytes are not zero");
  // Padding between the manifest and the seal block.
  REQUIRE(o.seal > o.manifest_end);
  for (uint64_t at : {o.manifest_end, o.seal - 1}) {
    CAPTURE(at);
    VT_CHECK_ERROR(b.open(flip_bit(b.bytes, at, 6)), ErrorKind::Format, "padding before the seal block is not zero");
  }
}

// ---- 4, 5. chunk records: offsets, overflow, tiling, coverage ----------------------

TEST_CASE("format: chunk records with invalid fields") {
  Base b;
  struct Case {
    const char* name;
    size_t chunk;
    std::function<void(Record&)> edit;
    std::string msg;
  };
  const std::vector<Case> cases = {
      {"unknown codec 6", 4, [](Record& r) { r.codec = 6; }, "chunk table: chunk 4: unknown codec id 6"},
      {"planes without its feature bit", 0, [](Record& r) { r.codec = 4; r.elem = 2; },
       "chunk table: chunk 0: codec planes needs feature planes, which the header does not set"},
      {"unknown codec 255", 0, [](Record& r) { r.codec = 255; }, "chunk 0: unknown codec id 255"},
      {"flags", 1, [](Record& r) { r.flags = 0x8000; }, "chunk 1: unknown flags"},
      {"raw size 0", 4, [](Record& r) { r.raw_size = 0; }, "chunk 4: raw size is zero"},
      {"raw size above the cap", 2, [](Record& r) { r.raw_size = (256ull << 20) + 1; }, "exceeds the cap of 268435456"},
      {"raw size 2^64-1", 2, [](Record& r) { r.raw_size = UINT64_MAX; }, "exceeds the cap"},
      {"shuffle element size 3", 0, [](Record& r) { r.elem = 3; }, "shuffle element size 3"},
      {"shuffle element size 0", 0, [](Record& r) { r.elem = 0; }, "shuffle element size 0"},
      {"zstd with an element size", 4, [](Record& r) { r.elem = 2; }, "element size set for a codec that has none"},
      {"zero with an element size", 2, [](Record& r) { r.elem = 8; }, "element size set"},
      {"zero chunk with stored bytes", 2, [](Record& r) { r.stored_size = 1; }, "zero chunk with stored bytes"},
      {"zero chunk with an offset", 2, [](Record& r) { r.stored_offset = 4096; }, "zero chunk with stored bytes"},
      {"raw with a stored size that differs", 4,
       [](Record& r) {
         r.codec = 1;
       },
       "raw chunk whose stored size differs from its raw size"},
      {"compressed chunk larger than its raw size", 4, [](Record& r) { r.stored_size = r.raw_size + 1; },
       "compressed chunk of"},
      {"compressed chunk of 0 bytes", 1, [](Record& r) { r.stored_size = 0; }, "compressed chunk of 0 stored bytes"},
      {"zero chunk with a hash other than SHA-256(\"\")", 3, [](Record& r) { r.hash[0] ^= 1; },
       "zero chunk 3 has a non-empty hash"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    SnapFile s = b.sf;
    c.edit(s.records[c.chunk]);
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, c.msg);
  }
  // The same edit without recomputing the table hash is an integrity error.
  Bytes f = b.bytes;
  const Offsets o = offsets_of(f);
  f[o.table + 4 * 72 + 4] = 4;
  VT_CHECK_ERROR(b.open(f), ErrorKind::Integrity, "chunk table hash mismatch");
}

TEST_CASE("format: chunk positions outside the data area, overlapping or overflowing") {
  Base b;
  const uint64_t table = b.sf.table_offset();
  const uint64_t file_size = b.bytes.size();
  struct Case {
    const char* name;
    std::function<void(std::vector<Record>&)> edit;
    std::string msg;
  };
  const std::vector<Case> cases = {
      {"before the data area (0)", [](auto& r) { r[0].stored_offset = 0; }, "is stored at offset 0"},
      {"inside the header padding", [](auto& r) { r[0].stored_offset = 64; }, "is stored at offset 64"},
      {"one block early", [](auto& r) { r[1].stored_offset -= 4096; }, "overlapping, misplaced or unaccounted bytes"},
      {"unaligned", [](auto& r) { r[1].stored_offset += 1; }, "overlapping, misplaced or unaccounted bytes"},
      {"into the table", [&](auto& r) { r[4].stored_offset = table; }, "is stored at offset " + std::to_string(table)},
      {"past the end of the file", [&](auto& r) { r[4].stored_offset = file_size + 4096; }, "is stored at offset"},
      {"near 2^64", [](auto& r) { r[4].stored_offset = UINT64_MAX - 4095; }, "is stored at offset"},
      {"2^64-1", [](auto& r) { r[1].stored_offset = UINT64_MAX; }, "is stored at offset"},
      {"overlapping the previous chunk", [](auto& r) { r[1].stored_offset = r[0].stored_offset; },
       "overlapping, misplaced or unaccounted bytes"},
      {"last chunk runs into the table",
       [](auto& r) { r[4].stored_size = std::min<uint64_t>(r[4].raw_size, 2 * 4096 + 1); },
       "runs into the chunk table"},
      {"two chunks of different extents swap offsets",
       [](auto& r) {
         std::swap(r[0].stored_offset, r[1].stored_offset);
       },
       "overlapping, misplaced or unaccounted bytes"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    SnapFile s = b.sf;
    c.edit(s.records);
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, c.msg);
  }
  SUBCASE("extents stored in another order than the table are fine when they tile") {
    // Lay chunk 4 (zstd) out first, then chunks 0 and 1.
    SnapFile s = b.sf;
    auto all = all_stored(s);
    s.data.clear();
    auto put = [&](size_t i) {
      s.records[i].stored_offset = 4096 + s.data.size();
      s.data.insert(s.data.end(), all[i].begin(), all[i].end());
      s.data.resize((s.data.size() + 4095) / 4096 * 4096, 0);
    };
    put(4);
    put(1);
    put(0);
    write_file(b.dir / "order.snap", build(s));
    CHECK(open_and_verify(b.dir / "order.snap").ok());
  }
}

TEST_CASE("format: regions not covered exactly by their chunks") {
  Base b;
  struct Case {
    const char* name;
    std::function<void(std::vector<Record>&)> edit;
    std::string msg;
  };
  const std::vector<Case> cases = {
      {"gap", [](auto& r) { r[1].region_offset += 1; }, "starts at 65537 but the previous chunk ends at 65536"},
      {"overlap", [](auto& r) { r[1].region_offset -= 1; }, "(gap, overlap or duplicate)"},
      {"first chunk not at 0", [](auto& r) { r[0].region_offset = 4096; }, "chunk 0 of region \"layers/0/w\" starts at 4096"},
      {"duplicate record", [](auto& r) { r.insert(r.begin() + 1, r[0]); }, "gap, overlap or duplicate"},
      {"duplicate zero record", [](auto& r) { r.insert(r.begin() + 3, r[2]); }, "gap, overlap or duplicate"},
      {"missing last chunk of a region", [](auto& r) { r.erase(r.begin() + 3); },
       "region \"kv/zero\" has 102400 bytes but its chunks cover 65536"},
      {"missing whole region", [](auto& r) { r.erase(r.begin() + 4); }, "region \"text\" has 10240 bytes but its chunks cover 0"},
      {"chunk runs past its region", [](auto& r) { r[3].raw_size += 1; }, "runs past the end of region \"kv/zero\""},
      {"chunk shorter than its region", [](auto& r) { r[3].raw_size -= 1; }, "has 102400 bytes but its chunks cover 102399"},
      {"region offset near 2^64", [](auto& r) { r[3].region_offset = UINT64_MAX - 10; }, "gap, overlap or duplicate"},
      {"chunk for an empty region", [](auto& r) { r[3].region = 2; }, "region \"kv/zero\" has 102400 bytes but its chunks cover 65536"},
      {"region out of range, its own region left uncovered", [](auto& r) { r[4].region = 4; },
       "region \"text\" has 10240 bytes but its chunks cover 0"},
      {"an extra record for a region out of range",
       [](auto& r) {
         r.push_back(r[4]);
         r.back().region = 4;
       },
       "chunk 5 names region 4 out of order or out of range (regions: 4)"},
      {"an extra record for region 2^32-1",
       [](auto& r) {
         r.push_back(r[2]);
         r.back().region = 0xffffffff;
       },
       "chunk 5 names region 4294967295 out of order or out of range"},
      {"regions out of order", [](auto& r) { std::swap(r[0], r[2]); }, ""},
      {"a trailing extra record", [](auto& r) { r.push_back(r[2]); }, "chunk 5 names region 1 out of order or out of range"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    SnapFile s = b.sf;
    c.edit(s.records);
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, c.msg);
  }
  SUBCASE("region sizes from the manifest") {
    auto with_size = [&](size_t r, json size) {
      SnapFile s = b.sf;
      json j = s.manifest_json();
      j["regions"][r]["size"] = size;
      j["regions"][r].erase("shape");
      s.set_manifest(j);
      return build(s);
    };
    VT_CHECK_ERROR(b.open(with_size(3, 10 * KiB + 1)), ErrorKind::Format, "has 10241 bytes but its chunks cover 10240");
    VT_CHECK_ERROR(b.open(with_size(2, 1)), ErrorKind::Format, "region \"empty\" has 1 bytes but its chunks cover 0");
    VT_CHECK_ERROR(b.open(with_size(1, 0)), ErrorKind::Format, "runs past the end of region \"kv/zero\"");
    VT_CHECK_ERROR(b.open(with_size(0, (1ull << 48) + 1)), ErrorKind::Format, "exceeds the cap of 281474976710656");
    VT_CHECK_ERROR(b.open(with_size(0, UINT64_MAX)), ErrorKind::Format, "exceeds the cap");
  }
}

// ---- 6. region names ----------------------------------------------------------------

TEST_CASE("format: the first region whose name an earlier one has") {
  using vramsnap::format::first_repeated_name;
  std::vector<vramsnap::RegionMeta> v(60000);
  for (size_t i = 0; i < v.size(); ++i) v[i].name = "t/" + std::to_string(i);
  CHECK(!first_repeated_name(v));
  CHECK(!first_repeated_name({}));
  v[59999].name = "t/7";
  CHECK(first_repeated_name(v) == 59999u);
  v[40000].name = "t/39999";
  CHECK(first_repeated_name(v) == 40000u);
  v[1].name = v[0].name;
  CHECK(first_repeated_name(v) == 1u);
}

TEST_CASE("format: duplicate and invalid region names") {
  Base b;
  auto with_name = [&](size_t r, const std::string& name) {
    SnapFile s = b.sf;
    json j = s.manifest_json();
    j["regions"][r]["name"] = "@@NAME@@";
    std::string text = j.dump();
    text.replace(text.find("@@NAME@@"), 8, name);  // raw bytes, JSON escapes allowed
    s.manifest = text;
    return build(s);
  };
  VT_CHECK_ERROR(b.open(with_name(3, "layers/0/w")), ErrorKind::Format, "duplicate region name \"layers/0/w\"");
  VT_CHECK_ERROR(b.open(with_name(2, "kv/zero")), ErrorKind::Format, "duplicate region name \"kv/zero\"");
  struct Case {
    std::string name;  // as it appears inside the JSON string
    std::string msg;
  };
  const std::vector<Case> cases = {
      {"", "is empty"},
      {"../x", "contains a '.' or '..' segment"},
      {"x/..", "contains a '.' or '..' segment"},
      {"a/./b", "contains a '.' or '..' segment"},
      {"..", "contains a '.' or '..' segment"},
      {".", "contains a '.' or '..' segment"},
      {"a//b", "contains an empty path segment"},
      {"/abs", "starts or ends with '/'"},
      {"dir/", "starts or ends with '/'"},
      {"/", "starts or ends with '/'"},
      {"a\\\\b", "contains a backslash"},
      {"..\\\\x", "contains a backslash"},
      {"a\\u0001b", "contains a control character"},
      {"a\\nb", "contains a control character"},
      {"nul\\u0000byte", "contains a control character"},
      {"del\\u007f", "contains a control character"},
      {std::string(256, 'n'), "is 256 bytes long (at most 255)"},
      {std::string(254, 'n') + "\xc3\xa9", "is 256 bytes long (at most 255)"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    VT_CHECK_ERROR(b.open(with_name(3, c.name)), ErrorKind::Format, "region name");
    VT_CHECK_ERROR(b.open(with_name(3, c.name)), ErrorKind::Format, c.msg);
  }
  // Boundary: 255 bytes (two-byte character at the end) is a valid name.
  {
    write_file(b.dir / "n255.snap", with_name(3, std::string(253, 'n') + "\xc3\xa9"));
    auto snap = Snapshot::open(b.dir / "n255.snap");
    REQUIRE_MESSAGE(snap.ok(), message_of(snap));
    CHECK(snap->regions()[3].name.size() == 255);
  }
  // Ill-formed UTF-8 (raw bytes in the JSON text): overlong '/', lone
  // continuation byte, surrogate, truncated sequence, above U+10FFFF.
  for (const char* raw : {"\xc0\xaf", "a\x80", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\\ud800"}) {
    CAPTURE(hex(as_bytes(raw)));
    VT_CHECK_ERROR(b.open(with_name(3, raw)), ErrorKind::Format, "manifest");
  }
}

// ---- 7. codecs ------------------------------------------------------------------------

TEST_CASE("format: zstd chunks that are not exactly one frame of the declared size") {
  Base b;
  const Bytes text = b.regions[3].bytes;  // chunk 4's content, 10240 bytes
  const uint32_t n = static_cast<uint32_t>(text.size());
  const Bytes frame = zstd_compress(text);
  REQUIRE(frame.size() < n / 2);

  struct Case {
    const char* name;
    Bytes stored;
    std::string msg;
  };
  Bytes two = frame;
  two.insert(two.end(), frame.begin(), frame.end());
  Bytes garbage = frame;
  garbage.push_back(0x42);
  Bytes skippable = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
  Bytes skip_first = skippable;
  skip_first.insert(skip_first.end(), frame.begin(), frame.end());
  Bytes legacy = frame;
  legacy[0] = 0x26;  // v0.7 magic 0xFD2FB527
  const Bytes bigger = zstd_compress(text_like(4 * n, 99));  // a 40 KiB frame...
  REQUIRE(bigger.size() <= n);
  const std::vector<Case> cases = {
      {"declares one byte more", reframe(frame, true, {}, {}, n + 1), "declares 10241 bytes, expected 10240"},
      {"declares one byte less", reframe(frame, true, {}, {}, n - 1), "declares 10239 bytes, expected 10240"},
      {"frame of another size", zstd_compress(Bytes(text.begin(), text.end() - 1)), "declares 10239 bytes, expected 10240"},
      {"no content size", reframe(frame, false, uint8_t(4 << 3), {}, {}), "does not declare its content size"},
      {"window 2^31", reframe(frame, false, uint8_t(21 << 3), {}, n), "2147483648-byte window, above the 2^28 limit"},
      {"window 2^41 (beyond what zstd parses)", reframe(frame, false, uint8_t(31 << 3), {}, n), "zstd chunk"},
      {"window 2^28 + 2^25", reframe(frame, false, uint8_t((18 << 3) | 1), {}, n), "above the 2^28 limit"},
      {"dictionary id", reframe(frame, true, {}, uint8_t(7), n), "zstd chunk"},
      {"two frames", two, "bytes after its frame"},
      {"trailing byte", garbage, "1 bytes after its frame"},
      {"skippable frame first", skip_first, "skippable frame"},
      {"legacy frame", legacy, "no zstd frame magic"},
      {"not a frame", random_bytes(100, 7), "no zstd frame magic"},
      {"four bytes", Bytes{0x28, 0xB5, 0x2F, 0xFD}, "too short for a frame"},
      {"truncated frame", Bytes(frame.begin(), frame.end() - 3), "truncated or corrupt"},
      // A decompression bomb: 40 KiB of content under a header that declares
      // 10 KiB. The decoder must stop at the declared size.
      {"content larger than declared", reframe(bigger, true, {}, {}, n), "zstd chunk"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    const std::string p = b.dir / "codec.snap";
    write_file(p, with_zstd_chunk(b, c.stored));
    // Structure and hashes are fine: the defect is only visible when decoding.
    auto snap = Snapshot::open(p);
    REQUIRE_MESSAGE(snap.ok(), message_of(snap));
    CHECK(vramsnap::verify(*snap, unsealed_verify(false)).ok());
    VT_CHECK_ERROR(vramsnap::verify(*snap, unsealed_verify(true)), ErrorKind::Format, c.msg);
    VT_CHECK_ERROR(vramsnap::restore(*snap, unsealed_restore()), ErrorKind::Format, c.msg);
    // The error names the chunk.
    VT_CHECK_ERROR(vramsnap::restore(*snap, unsealed_restore()), ErrorKind::Format, "region \"text\", chunk 4");
  }
  SUBCASE("a window of exactly 2^28 and a hand-made header decode fine") {
    write_file(b.dir / "w28.snap", with_zstd_chunk(b, reframe(frame, false, uint8_t(18 << 3), {}, n)));
    REQUIRE(open_and_verify(b.dir / "w28.snap").ok());
    auto snap = open_ok(b.dir / "w28.snap");
    auto r = vramsnap::restore(snap, unsealed_restore());
    REQUIRE_MESSAGE(r.ok(), message_of(r));
    const auto* t = r->find("text");
    REQUIRE(t != nullptr);
    CHECK(std::memcmp(t->host, text.data(), text.size()) == 0);
  }
}

TEST_CASE("format: shuffle chunks with a bad frame") {
  Base b;
  SnapFile s = b.sf;
  auto all = all_stored(s);
  // Chunk 1: shuffle, 6 KiB raw. Replace its frame by one declaring 1 byte less.
  const uint32_t n = static_cast<uint32_t>(s.records[1].raw_size);
  all[1] = reframe(all[1], true, {}, {}, n - 1);
  relayout(s, all, true);
  write_file(b.dir / "sh.snap", build(s));
  auto snap = open_ok(b.dir / "sh.snap");
  VT_CHECK_ERROR(vramsnap::restore(snap, unsealed_restore()), ErrorKind::Format, "declares 6143 bytes, expected 6144");
  // Element size changed in the record: hash and frame still fine; only the
  // seal could tell (the restored bytes differ). Documented, not an error here.
  SnapFile s2 = b.sf;
  s2.records[1].elem = 4;
  write_file(b.dir / "sh4.snap", build(s2));
  CHECK(open_and_verify(b.dir / "sh4.snap").ok());
}

// ---- 8. manifest JSON ----------------------------------------------------------------

TEST_CASE("format: malformed manifest text") {
  Base b;
  const std::string good = b.sf.manifest;
  struct Case {
    const char* name;
    std::string text;
    std::string msg;
  };
  const std::vector<Case> cases = {
      {"syntax error", "{\"format\":", "manifest: not valid JSON"},
      {"truncated", good.substr(0, good.size() - 1), "not valid JSON"},
      {"trailing garbage", good + "x", "not valid JSON"},
      {"second value", good + good, "not valid JSON"},
      {"trailing NUL", good + std::string(1, '\0'), "not valid JSON"},
      {"NUL then anything", good + std::string(1, '\0') + "{\"hidden\":1}", "not valid JSON"},
      {"NUL inside", good.substr(0, 10) + std::string(1, '\0') + good.substr(10), "not valid JSON"},
      {"comment", "/* c */" + good, "not valid JSON"},
      {"trailing comma", good.substr(0, good.size() - 1) + ",}", "not valid JSON"},
      {"single quotes", "{'format':'vramsnap-manifest'}", "not valid JSON"},
      {"array", "[]", "not a JSON object"},
      {"null", "null", "not a JSON object"},
      {"number", "1", "not a JSON object"},
      {"string", "\"vramsnap-manifest\"", "not a JSON object"},
      {"empty object", "{}", "missing \"format\""},
      {"one space", " ", "not valid JSON"},
      {"nested 33 deep", "{\"x\":" + std::string(32, '[') + std::string(32, ']') + "}", "nested deeper than 32 levels"},
      {"nested 100000 deep", std::string(100000, '['), "nested deeper than 32 levels"},
      {"nested deep inside a string is fine, but the text is not JSON", "\"" + std::string(100, '[') + "\"",
       "not a JSON object"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    SnapFile s = b.sf;
    s.manifest = c.text;
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, c.msg);
  }
  SUBCASE("accepted variants: whitespace, byte order mark, 32 levels, unknown members") {
    json j = b.sf.manifest_json();
    j["x-unknown"] = json::parse("{\"a\":[1,2,{\"b\":null}],\"c\":1.5}");
    j["source"]["x-new"] = 42;
    j["regions"][0]["x-new"] = json::array({true, false});
    j["regions"][0]["flags"] = json::array({"read_mostly", "future_flag", "read_mostly"});
    j["regions"][1]["va"] = nullptr;
    std::string deep = j.dump();
    deep.insert(1, "\"deep\":" + std::string(31, '[') + std::string(31, ']') + ",");  // depth 32 exactly
    for (const std::string& text : {" \n\t" + good + "\r\n ", std::string("\xEF\xBB\xBF") + good, j.dump(2), deep}) {
      SnapFile s = b.sf;
      s.manifest = text;
      write_file(b.dir / "ok.snap", build(s));
      auto st = open_and_verify(b.dir / "ok.snap");
      CHECK_MESSAGE(st.ok(), message_of(st) << "\n" << text.substr(0, 200));
    }
  }
}

TEST_CASE("format: manifest members with wrong types, missing or out of range") {
  Base b;
  const json base = b.sf.manifest_json();
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    ErrorKind kind;
    std::string msg;
  };
  const std::vector<Case> cases = {
      {"format missing", [](json& j) { j.erase("format"); }, ErrorKind::Format, "missing \"format\""},
      {"format wrong", [](json& j) { j["format"] = "vramsnap"; }, ErrorKind::Format, "\"format\" is not \"vramsnap-manifest\""},
      {"format number", [](json& j) { j["format"] = 1; }, ErrorKind::Format, "manifest.format is not a string"},
      {"version missing", [](json& j) { j.erase("version"); }, ErrorKind::Format, "missing \"version\""},
      {"version 2", [](json& j) { j["version"] = 2; }, ErrorKind::Format, "manifest version 2 is not supported"},
      {"version string", [](json& j) { j["version"] = "1"; }, ErrorKind::Format, "version is not an unsigned integer"},
      {"version 1.0", [](json& j) { j["version"] = 1.0; }, ErrorKind::Format, "version is not an unsigned integer"},
      {"snapshot_id missing", [](json& j) { j.erase("snapshot_id"); }, ErrorKind::Format, "missing \"snapshot_id\""},
      {"snapshot_id number", [](json& j) { j["snapshot_id"] = 7; }, ErrorKind::Format, "snapshot_id is not a string"},
      {"snapshot_id uppercase",
       [](json& j) {
         std::string id = j["snapshot_id"];
         for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         if (id == j["snapshot_id"].get<std::string>()) id[0] = 'X';
         j["snapshot_id"] = id;
       },
       ErrorKind::Format, "manifest snapshot id differs from the header's"},
      {"snapshot_id of another snapshot", [](json& j) { j["snapshot_id"] = std::string(32, '0'); }, ErrorKind::Format,
       "differs from the header's"},
      {"created missing", [](json& j) { j.erase("created"); }, ErrorKind::Format, "missing \"created\""},
      {"created number", [](json& j) { j["created"] = 5; }, ErrorKind::Format, "created is not a string"},
      {"created too long", [](json& j) { j["created"] = std::string(4097, 'c'); }, ErrorKind::Format,
       "a metadata string is too long"},
      {"tool missing", [](json& j) { j.erase("tool"); }, ErrorKind::Format, "missing \"tool\""},
      {"generation missing", [](json& j) { j.erase("generation"); }, ErrorKind::Format, "missing \"generation\""},
      {"generation -1", [](json& j) { j["generation"] = -1; }, ErrorKind::Format, "generation is not an unsigned integer"},
      {"generation 1000.0", [](json& j) { j["generation"] = 1000.0; }, ErrorKind::Format, "is not an unsigned integer"},
      {"generation true", [](json& j) { j["generation"] = true; }, ErrorKind::Format, "is not an unsigned integer"},
      {"chunk_size string", [](json& j) { j["chunk_size"] = "64k"; }, ErrorKind::Format, "chunk_size is not an unsigned integer"},
      {"labels array", [](json& j) { j["labels"] = json::array(); }, ErrorKind::Format, "labels is not an object"},
      {"label value number", [](json& j) { j["labels"]["a"] = 1; }, ErrorKind::Format, "labels.a is not a string"},
      {"label value null", [](json& j) { j["labels"]["a"] = nullptr; }, ErrorKind::Format, "labels.a is not a string"},
      {"label key empty", [](json& j) { j["labels"][""] = "x"; }, ErrorKind::Format, "empty label key"},
      {"label value too long", [](json& j) { j["labels"]["k"] = std::string(4097, 'v'); }, ErrorKind::Format,
       "longer than 4096 bytes"},
      {"label key too long", [](json& j) { j["labels"][std::string(4097, 'k')] = "v"; }, ErrorKind::Format,
       "longer than 4096 bytes"},
      {"1025 labels",
       [](json& j) {
         for (int i = 0; i < 1025; ++i) j["labels"]["k" + std::to_string(i)] = "v";
       },
       ErrorKind::Format, "1025 labels (at most 1024)"},
      {"source string", [](json& j) { j["source"] = "host"; }, ErrorKind::Format, "source is not an object"},
      {"source.host number", [](json& j) { j["source"]["host"] = 5; }, ErrorKind::Format, "source.host is not a string"},
      {"source.gpu_name too long", [](json& j) { j["source"]["gpu_name"] = std::string(5000, 'g'); },
       ErrorKind::Format, "too long"},
      {"regions missing", [](json& j) { j.erase("regions"); }, ErrorKind::Format, "missing \"regions\" array"},
      {"regions object", [](json& j) { j["regions"] = json::object(); }, ErrorKind::Format, "missing \"regions\" array"},
      {"region not an object", [](json& j) { j["regions"][1] = 5; }, ErrorKind::Format, "regions[1] is not an object"},
      {"region name missing", [](json& j) { j["regions"][1].erase("name"); }, ErrorKind::Format,
       "regions[1]: missing \"name\""},
      {"region name number", [](json& j) { j["regions"][1]["name"] = 1; }, ErrorKind::Format, "regions[1].name is not a string"},
      {"region kind missing", [](json& j) { j["regions"][1].erase("kind"); }, ErrorKind::Format, "missing \"kind\""},
      {"region kind unknown", [](json& j) { j["regions"][1]["kind"] = "gpu"; }, ErrorKind::Format,
       "kind \"gpu\" is not device, host, module or other"},
      {"region kind uppercase", [](json& j) { j["regions"][1]["kind"] = "Host"; }, ErrorKind::Format, "is not device"},
      {"region size missing", [](json& j) { j["regions"][1].erase("size"); }, ErrorKind::Format, "missing \"size\""},
      {"region size negative", [](json& j) { j["regions"][1]["size"] = -5; }, ErrorKind::Format,
       "regions[1].size is not an unsigned integer"},
      {"region size string", [](json& j) { j["regions"][1]["size"] = "102400"; }, ErrorKind::Format, "not an unsigned integer"},
      {"region size float", [](json& j) { j["regions"][1]["size"] = 102400.0; }, ErrorKind::Format, "not an unsigned integer"},
      {"dtype uppercase", [](json& j) { j["regions"][1]["dtype"] = "U8"; }, ErrorKind::Format, "is not a valid dtype name"},
      {"dtype 33 chars", [](json& j) { j["regions"][1]["dtype"] = std::string(33, 'u'); }, ErrorKind::Format,
       "not a valid dtype name"},
      {"dtype number", [](json& j) { j["regions"][1]["dtype"] = 8; }, ErrorKind::Format, "dtype is not a string"},
      {"shape string", [](json& j) { j["regions"][0]["shape"] = "35840"; }, ErrorKind::Format, "shape is not an array"},
      {"shape negative", [](json& j) { j["regions"][0]["shape"] = json::array({-1}); }, ErrorKind::Format,
       "shape holds a value that is not an unsigned integer"},
      {"shape rank 17", [](json& j) { j["regions"][0]["shape"] = std::vector<int>(17, 1); }, ErrorKind::Format,
       "shape has rank 17 (at most 16)"},
      {"shape x dtype differs from size", [](json& j) { j["regions"][0]["shape"] = json::array({35841}); },
       ErrorKind::Format, "shape x dtype size does not equal the region size"},
      {"shape product overflows", [](json& j) { j["regions"][0]["shape"] = json::array({1ull << 40, 1ull << 40}); },
       ErrorKind::Format, "shape x dtype size does not equal the region size"},
      {"device 1024", [](json& j) { j["regions"][1]["device"] = 1024; }, ErrorKind::Format, "device is not an integer in -1..1023"},
      {"device -2", [](json& j) { j["regions"][1]["device"] = -2; }, ErrorKind::Format, "device is not an integer"},
      {"device 2^64-1", [](json& j) { j["regions"][1]["device"] = UINT64_MAX; }, ErrorKind::Format, "device is not an integer"},
      {"device 2^63", [](json& j) { j["regions"][1]["device"] = 1ull << 63; }, ErrorKind::Format, "device is not an integer"},
      {"device 1.0", [](json& j) { j["regions"][1]["device"] = 1.0; }, ErrorKind::Format, "device is not an integer"},
      {"device string", [](json& j) { j["regions"][1]["device"] = "0"; }, ErrorKind::Format, "device is not an integer"},
      {"va number", [](json& j) { j["regions"][1]["va"] = 4096; }, ErrorKind::Format, "va is not a hex string"},
      {"va without digits", [](json& j) { j["regions"][1]["va"] = "0x"; }, ErrorKind::Format, "va is not a hex string"},
      {"va without 0x", [](json& j) { j["regions"][1]["va"] = "7f00"; }, ErrorKind::Format, "va is not a hex string"},
      {"va 17 digits", [](json& j) { j["regions"][1]["va"] = "0x" + std::string(17, 'f'); }, ErrorKind::Format,
       "va is not a hex string"},
      {"va not hex", [](json& j) { j["regions"][1]["va"] = "0x7g"; }, ErrorKind::Format, "va is not a hex string"},
      {"va with sign", [](json& j) { j["regions"][1]["va"] = "0x-1"; }, ErrorKind::Format, "va is not a hex string"},
      {"flags string", [](json& j) { j["regions"][1]["flags"] = "warm"; }, ErrorKind::Format, "flags is not an array"},
      {"flags number", [](json& j) { j["regions"][1]["flags"] = json::array({1}); }, ErrorKind::Format,
       "flags holds a non-string"},
      {"region labels number", [](json& j) { j["regions"][1]["labels"]["k"] = 1; }, ErrorKind::Format,
       "regions[1].labels.k is not a string"},
      {"region label value too long", [](json& j) { j["regions"][1]["labels"]["k"] = std::string(4097, 'v'); },
       ErrorKind::Format, "longer than 4096 bytes"},
      {"a region added (trailer still says 4)", [](json& j) { j["regions"].push_back(j["regions"][2]); j["regions"][4]["name"] = "e2"; },
       ErrorKind::Format, "trailer and manifest disagree on the region count"},
  };
  for (const Case& c : cases) {
    const std::string case_name = c.name;
    CAPTURE(case_name);
    SnapFile s = b.sf;
    json j = base;
    c.edit(j);
    s.set_manifest(j);
    VT_CHECK_ERROR(b.open(build(s)), c.kind, c.msg);
  }
  SUBCASE("huge numbers in the text") {
    auto with_text = [&](const std::string& member, const std::string& value) {
      json j = base;
      j[member] = "@@V@@";
      std::string text = j.dump();
      text.replace(text.find("\"@@V@@\""), 7, value);
      SnapFile s = b.sf;
      s.manifest = text;
      return build(s);
    };
    VT_CHECK_ERROR(b.open(with_text("generation", "18446744073709551616")), ErrorKind::Format, "generation is not an unsigned integer");
    VT_CHECK_ERROR(b.open(with_text("generation", "1e3")), ErrorKind::Format, "generation is not an unsigned integer");
    VT_CHECK_ERROR(b.open(with_text("generation", "1" + std::string(400, '0'))), ErrorKind::Format, "");
    VT_CHECK_ERROR(b.open(with_text("generation", "-9223372036854775809")), ErrorKind::Format, "not an unsigned integer");
    VT_CHECK_ERROR(b.open(with_text("generation", "0x10")), ErrorKind::Format, "not valid JSON");
    VT_CHECK_ERROR(b.open(with_text("generation", "NaN")), ErrorKind::Format, "not valid JSON");
    // The largest uint64 and -0 are valid.
    write_file(b.dir / "max.snap", with_text("generation", "18446744073709551615"));
    auto snap = Snapshot::open(b.dir / "max.snap");
    REQUIRE_MESSAGE(snap.ok(), message_of(snap));
    CHECK(snap->meta().generation == UINT64_MAX);
    write_file(b.dir / "m0.snap", with_text("generation", "-0"));
    auto snap0 = Snapshot::open(b.dir / "m0.snap");
    REQUIRE_MESSAGE(snap0.ok(), message_of(snap0));
    CHECK(snap0->meta().generation == 0);
  }
  SUBCASE("more regions than the cap") {
    std::string text = base.dump();
    const size_t at = text.find("\"regions\":[") + 11;
    std::string many;
    for (int i = 0; i < 65537; ++i) many += "{},";
    text.insert(at, many);
    SnapFile s = b.sf;
    s.manifest = text;
    VT_CHECK_ERROR(b.open(build(s)), ErrorKind::Format, "too many regions");
  }
  SUBCASE("a region added consistently (trailer count fixed) is a valid unsealed file") {
    json j = base;
    j["regions"].push_back(j["regions"][2]);
    j["regions"][4]["name"] = "e2";
    SnapFile s = b.sf;
    s.set_manifest(j);
    BuildOptions bo;
    bo.edit_trailer = [](uint8_t* t) { put_le(t + L::trl::kRegionCount, 5, 4); };
    write_file(b.dir / "five.snap", build(s, bo));
    CHECK(open_and_verify(b.dir / "five.snap").ok());
  }
}

// ---- compatibility -----------------------------------------------------------------

// Section 16 of formats/snapshot-v1.md, built from the spec text alone.
TEST_CASE("format: the worked example of the specification") {
  TempDir dir("fmt");
  const KeyBytes key = key_bytes(0x00);
  const auto lib_key = make_key(key);
  CHECK(hex(key_id_of(key)) == "3374bb01a1dc8e1e");
  CHECK(lib_key.id_hex() == "3374bb01a1dc8e1e");
  CHECK(hex(sha256(std::string_view())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  Bytes region_bytes;
  for (uint32_t i = 0; i < 2048; ++i) {
    Bytes in = {'v', 'r', 'a', 'm', 's', 'n', 'a', 'p', ' ', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 0, 0};
    put_le(in.data() + 16, i, 4);
    auto d = sha256(in);
    region_bytes.insert(region_bytes.end(), d.begin(), d.end());
  }
  region_bytes.resize(131072, 0);
  const Bytes chunk0(region_bytes.begin(), region_bytes.begin() + 65536);
  CHECK(hex(sha256(chunk0)) == "fbf838b34390704cbbd3829ec5b59ad842def44d8c743ad5ac32a6ce1ef090ec");

  const Bytes id = unhex("0123456789abcdef0011223344556677");
  SnapFile s;
  s.head.assign(4096, 0);
  std::memcpy(s.head.data(), "\x89VSNAP\r\n", 8);
  put_le(&s.head[8], 1, 2);
  put_le(&s.head[10], 0, 2);
  put_le(&s.head[12], 64, 4);
  std::copy(id.begin(), id.end(), s.head.begin() + 32);
  put_le(&s.head[48], 4096, 4);
  s.rehash_header();
  CHECK(hex({s.head.data(), 64}) == hex(unhex(R"(
      89 56 53 4e 41 50 0d 0a 01 00 00 00 40 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      01 23 45 67 89 ab cd ef 00 11 22 33 44 55 66 77
      00 10 00 00 00 00 00 00 3b ff 83 59 a8 c7 f3 a7)")));

  s.data = chunk0;
  Record r0;
  r0.region = 0;
  r0.codec = 1;
  r0.region_offset = 0;
  r0.raw_size = 65536;
  r0.stored_offset = 4096;
  r0.stored_size = 65536;
  r0.hash = sha256(chunk0);
  Record r1;
  r1.codec = 0;
  r1.region_offset = 65536;
  r1.raw_size = 65536;
  r1.hash = sha256(std::string_view());
  s.records = {r0, r1};
  CHECK(hex(encode_table(s.records)) == hex(unhex(R"(
      00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00
      00 00 01 00 00 00 00 00 00 10 00 00 00 00 00 00
      00 00 01 00 00 00 00 00 fb f8 38 b3 43 90 70 4c
      bb d3 82 9e c5 b5 9a d8 42 de f4 4d 8c 74 3a d5
      ac 32 a6 ce 1e f0 90 ec
      00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00
      00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 e3 b0 c4 42 98 fc 1c 14
      9a fb f4 c8 99 6f b9 24 27 ae 41 e4 64 9b 93 4c
      a4 95 99 1b 78 52 b8 55)")));
  CHECK(hex(sha256(encode_table(s.records))) == "06c1a9bc896cfe4171aee29d7ddb4ef01547ef398a2120b68d47dd9eae363893");

  s.manifest =
      R"({"chunk_size":65536,"created":"2025-01-01T00:00:00Z","format":"vramsnap-manifest","generation":7,)"
      R"("labels":{"model":"example"},"regions":[{"device":0,"dtype":"bf16","flags":["read_mostly"],)"
      R"("kind":"device","labels":{},"name":"layers/0/attn.wq","shape":[256,256],"size":131072,)"
      R"("va":"0x7f3a00000000"}],"snapshot_id":"0123456789abcdef0011223344556677","source":{"host":"build-01"},)"
      R"("tool":"vramsnap 0.1.0","version":1})";
  CHECK(s.manifest.size() == 412);
  CHECK(hex(sha256(s.manifest)) == "46bcdc5869ab9784539fba04a5f661f37f512a8a8a50f8d09b1e3a6ac596ecf4");

  std::memcpy(&s.trailer[152], "VRAMSNAP", 8);
  put_le(&s.trailer[16], 72, 4);
  put_le(&s.trailer[20], 1, 4);
  put_le(&s.trailer[56], 1, 2);
  put_le(&s.trailer[128], 4096, 8);
  s.set_unsealed();
  const Bytes unsealed = build(s);
  BuildOptions bo;
  bo.seal_key = key;
  const Bytes sealed = build(s, bo);
  REQUIRE(sealed.size() == 70944);
  CHECK(sealed.size() % 512 == 288);
  Bytes seal_block = unhex(R"(
      56 53 4e 50 53 45 41 4c 01 00 00 00 00 00 00 00
      33 74 bb 01 a1 dc 8e 1e 00 00 00 00 00 00 00 00
      26 5f 66 d9 ab b9 93 b4 a1 dc 07 4d 6f be 03 34
      22 45 b2 85 c7 4c 2c c4 e5 0d 41 82 65 a1 42 36)");
  seal_block.resize(128, 0);
  CHECK(hex({sealed.data() + 0x11400, 128}) == hex(seal_block));
  CHECK(hex({sealed.data() + 0x11480, 160}) == hex(unhex(R"(
      00 10 01 00 00 00 00 00 02 00 00 00 00 00 00 00
      48 00 00 00 01 00 00 00 90 10 01 00 00 00 00 00
      9c 01 00 00 00 00 00 00 00 14 01 00 00 00 00 00
      20 15 01 00 00 00 00 00 01 00 00 00 00 00 00 00
      06 c1 a9 bc 89 6c fe 41 71 ae e2 9d 7d db 4e f0
      15 47 ef 39 8a 21 20 b6 8d 47 dd 9e ae 36 38 93
      46 bc dc 58 69 ab 97 84 53 9f ba 04 a5 f6 61 f3
      7f 51 2a 8a 8a 50 f8 d0 9b 1e 3a 6a c5 96 ec f4
      00 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      cf 6c e8 36 a4 b9 e5 07 56 52 41 4d 53 4e 41 50)")));
  // The unsealed variant differs only in [0x11408, 0x11440).
  for (size_t i = 0; i < sealed.size(); ++i)
    if (i < 0x11408 || i >= 0x11440) REQUIRE(sealed[i] == unsealed[i]);

  // The library reads, verifies and restores it.
  write_file(dir / "example.snap", sealed);
  auto snap = open_ok(dir / "example.snap");
  CHECK(snap.meta().generation == 7);
  CHECK(snap.meta().id_hex == "0123456789abcdef0011223344556677");
  CHECK(snap.meta().labels.at("model") == "example");
  CHECK(snap.meta().source.host == "build-01");
  CHECK(snap.meta().created == "2025-01-01T00:00:00Z");
  REQUIRE(snap.regions().size() == 1);
  const auto& rm = snap.regions()[0];
  CHECK(rm.name == "layers/0/attn.wq");
  CHECK(rm.kind == vramsnap::RegionKind::Device);
  CHECK(rm.dtype == "bf16");
  CHECK(rm.shape == std::vector<uint64_t>{256, 256});
  CHECK(rm.device == 0);
  CHECK(rm.va == std::optional<uint64_t>(0x7f3a00000000ull));
  CHECK(rm.flags == vramsnap::kFlagReadMostly);
  CHECK(snap.seal().key_id_hex == "3374bb01a1dc8e1e");
  vramsnap::VerifyOptions vo;
  vo.key = &lib_key;
  vo.decode = true;
  auto v = vramsnap::verify(snap, vo);
  REQUIRE_MESSAGE(v.ok(), message_of(v));
  CHECK(v->seal_checked);
  RestoreOptions ro;
  ro.key = &lib_key;
  auto restored = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(restored.ok(), message_of(restored));
  CHECK(std::memcmp(restored->regions()[0].host, region_bytes.data(), region_bytes.size()) == 0);

  // Sealing the unsealed variant with the library gives the identical file.
  write_file(dir / "unsealed.snap", unsealed);
  auto sr = vramsnap::seal(dir / "unsealed.snap", lib_key);
  REQUIRE_MESSAGE(sr.ok(), message_of(sr));
  CHECK(read_file(dir / "unsealed.snap") == sealed);

  // The library's writer produces the identical chunk data, table and manifest
  // from the same input, apart from snapshot_id and created.
  RegionData rd = region("layers/0/attn.wq", region_bytes, "bf16", vramsnap::RegionKind::Device);
  rd.meta.shape = {256, 256};
  rd.meta.device = 0;
  rd.meta.va = 0x7f3a00000000ull;
  rd.meta.flags = vramsnap::kFlagReadMostly;
  auto opt = capture_options();
  opt.chunk_hash = vramsnap::ChunkHash::Sha256;  // the example is a format 1.0 file
  opt.generation = 7;
  opt.labels = {{"model", "example"}};
  opt.source->host = "build-01";
  const Bytes captured = make_snapshot(dir / "captured.snap", {rd}, opt);
  SnapFile c = parse(captured);
  CHECK(c.data == s.data);
  CHECK(encode_table(c.records) == encode_table(s.records));
  json cj = c.manifest_json();
  std::string m = c.manifest;
  auto replace = [&](const std::string& from, const std::string& to) {
    auto at = m.find(from);
    REQUIRE(at != std::string::npos);
    m.replace(at, from.size(), to);
  };
  replace(cj["snapshot_id"].get<std::string>(), "0123456789abcdef0011223344556677");
  replace("\"created\":\"" + cj["created"].get<std::string>() + "\"", "\"created\":\"2025-01-01T00:00:00Z\"");
  CHECK(m == s.manifest);
  CHECK(captured.size() == sealed.size());
}

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(dir, ec))
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ext) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> lines_of(const fs::path& p) {
  const Bytes b = read_file(p.string());
  std::vector<std::string> out;
  std::string cur;
  for (uint8_t c : b) {
    if (c == '\n') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(c));
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// tests/golden/golden.key: 32 raw bytes (its file mode is not kept by git, so
// it is read directly rather than through Key::load).
std::optional<vramsnap::Key> golden_key() {
  const fs::path k = fs::path(VRAMSNAP_SOURCE_DIR) / "tests" / "golden" / "golden.key";
  std::error_code ec;
  if (!fs::exists(k, ec)) return std::nullopt;
  const Bytes kb = read_file(k.string());
  auto key = vramsnap::Key::from_bytes(kb.data(), kb.size());
  if (!key.ok()) return std::nullopt;
  return *key;
}

}  // namespace

TEST_CASE("format: committed golden snapshots keep reading, to the same bytes") {
  const fs::path golden = fs::path(VRAMSNAP_SOURCE_DIR) / "tests" / "golden";
  const auto files = files_with_extension(golden, ".snap");
  if (files.empty()) {
    MESSAGE("no tests/golden/*.snap: nothing to check");
    return;
  }
  const auto key = golden_key();
  TempDir dir("golden");
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    CAPTURE(name);
    auto snap = Snapshot::open(f.string());
    REQUIRE_MESSAGE(snap.ok(), message_of(snap));
    auto v = vramsnap::verify(*snap, unsealed_verify(true));
    CHECK_MESSAGE(v.ok(), message_of(v));
    RestoreOptions ro = unsealed_restore();
    if (snap->seal().state == vramsnap::SealState::HmacSha256) {
      REQUIRE_MESSAGE(key.has_value(), "a sealed golden file needs tests/golden/golden.key");
      CHECK(snap->seal().key_id_hex == key->id_hex());
      vramsnap::VerifyOptions vo;
      vo.key = &*key;
      vo.decode = true;
      auto vs = vramsnap::verify(*snap, vo);
      CHECK_MESSAGE(vs.ok(), message_of(vs));
      ro.allow_unsealed = false;
      ro.key = &*key;
    }
    // NAME.sha256sums lists the files extract writes, with their SHA-256.
    const fs::path sums = fs::path(f).replace_extension(".sha256sums");
    std::error_code ec;
    if (!fs::exists(sums, ec)) continue;
    const std::string out = dir / name;
    auto ex = vramsnap::extract(*snap, out, ro);
    REQUIRE_MESSAGE(ex.ok(), message_of(ex));
    std::vector<std::string> want;
    for (const std::string& line : lines_of(sums)) {
      if (line.size() < 67) continue;
      const std::string digest = line.substr(0, 64), file = line.substr(66);
      want.push_back(file);
      CAPTURE(file);
      REQUIRE(path_exists(out + "/" + file));
      CHECK(hex(sha256(read_file(out + "/" + file))) == digest);
    }
    std::sort(want.begin(), want.end());
    CHECK(list_dir(out) == want);
    // The same bytes through restore() to memory.
    auto r = vramsnap::restore(*snap, ro);
    REQUIRE_MESSAGE(r.ok(), message_of(r));
    for (const auto& rr : r->regions()) {
      const Bytes disk = read_file(out + "/" + vramsnap::format::extract_file_name(rr.meta->name));
      CHECK(disk.size() == rr.meta->size);
      if (!disk.empty()) CHECK(std::memcmp(rr.host, disk.data(), disk.size()) == 0);
    }
  }
}

// tests/golden-errors: NAME.expect holds the exit code, a message fragment,
// and optionally the verify arguments. The library must fail the same way.
TEST_CASE("format: committed golden error files fail as recorded") {
  const fs::path errors = fs::path(VRAMSNAP_SOURCE_DIR) / "tests" / "golden-errors";
  const auto files = files_with_extension(errors, ".snap");
  if (files.empty()) {
    MESSAGE("no tests/golden-errors/*.snap: nothing to check");
    return;
  }
  const auto key = golden_key();
  TempDir dir("golden");
  const std::map<int, ErrorKind> kind_of_exit = {
      {1, ErrorKind::Integrity}, {2, ErrorKind::Usage}, {3, ErrorKind::Format}, {4, ErrorKind::IO}};
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    CAPTURE(name);
    const auto expect = lines_of(fs::path(f).replace_extension(".expect"));
    REQUIRE(expect.size() >= 2);
    const int exit_code = std::stoi(expect[0]);
    REQUIRE(kind_of_exit.count(exit_code) == 1);
    const ErrorKind kind = kind_of_exit.at(exit_code);
    const std::string fragment = expect[1];
    vramsnap::VerifyOptions vo;
    vo.threads = 1;
    const std::string args = expect.size() > 2 ? expect[2] : "--key-file @KEY";
    bool understood = true;
    std::istringstream in(args);
    for (std::string a; in >> a;) {
      if (a == "--key-file") {
        in >> a;
        REQUIRE(key.has_value());
        vo.key = &*key;
      } else if (a == "--allow-unsealed") {
        vo.allow_unsealed = true;
      } else if (a == "--decode") {
        vo.decode = true;
      } else {
        understood = false;
      }
    }
    if (!understood) {
      MESSAGE("skipping " << name << ": arguments not understood here: " << args);
      continue;
    }
    auto snap = Snapshot::open(f.string());
    vramsnap::Status st;
    if (!snap.ok()) {
      st = std::move(snap).error();
    } else {
      auto v = vramsnap::verify(*snap, vo);
      if (!v.ok()) st = std::move(v).error();
    }
    VT_CHECK_ERROR(st, kind, fragment);
    // restore (which always decodes) fails the same way and leaves DIR empty.
    if (snap.ok()) {
      RestoreOptions ro;
      ro.key = vo.key;
      ro.allow_unsealed = vo.allow_unsealed;
      VT_CHECK_ERROR(vramsnap::restore(*snap, ro), kind, fragment);
      const std::string out = dir / name;
      auto ex = vramsnap::extract(*snap, out, ro);
      VT_CHECK_ERROR(ex, kind, fragment);
      CHECK(list_dir(out).empty());
    }
  }
}

TEST_CASE("format: inputs that are not regular files are I/O errors, not format errors") {
  Base b;
  VT_CHECK_ERROR(Snapshot::open(b.dir / "missing.snap"), ErrorKind::IO, "missing.snap");
  VT_CHECK_ERROR(Snapshot::open(b.dir.path), ErrorKind::IO, "is a directory");
  VT_CHECK_ERROR(Snapshot::open("/dev/null"), ErrorKind::IO, "is a character device");
  REQUIRE(::mkfifo((b.dir / "fifo").c_str(), 0600) == 0);
  VT_CHECK_ERROR(Snapshot::open(b.dir / "fifo"), ErrorKind::IO, "is a FIFO");  // and does not block
  // A symlink to a snapshot is followed: the operator named it.
  REQUIRE(::symlink("base.snap", (b.dir / "link.snap").c_str()) == 0);
  CHECK(Snapshot::open(b.dir / "link.snap").ok());
}

// ---- required feature bits (section 14.2) ----------------------------------------------------

TEST_CASE("format: required feature bits are checked against the table of known features") {
  using vramsnap::format::Feature;
  using vramsnap::format::check_required_features;
  using vramsnap::format::minor_for;
  // This build's table: leaf-sha256 (bit 0, format 1.1), ed25519 (bit 1,
  // format 1.2), packed-regions (bit 2, format 1.3). Other bits are refused by number; bit 0 under minor 0 is a
  // malformed file.
  const auto known = vramsnap::format::known_features();
  REQUIRE(known.size() >= 3);
  CHECK(known[0].bit == 0);
  CHECK(std::string(known[0].name) == "leaf-sha256");
  CHECK(known[0].minor == 1);
  CHECK(known[1].bit == 1);
  CHECK(std::string(known[1].name) == "ed25519");
  CHECK(known[1].minor == 2);
  CHECK(known[2].bit == 2);
  CHECK(std::string(known[2].name) == "packed-regions");
  CHECK(known[2].minor == 3);
  VT_CHECK_ERROR(check_required_features(4, 2, known), ErrorKind::Format, "claims 1.2");
  const auto planes = std::find_if(known.begin(), known.end(), [](const Feature& f) { return f.bit == 3; });
  REQUIRE(planes != known.end());
  CHECK(std::string(planes->name) == "planes");
  CHECK(planes->minor == 4);
  VT_CHECK_ERROR(check_required_features(8, 3, known), ErrorKind::Format, "feature planes (bit 3) is defined by format 1.4");
  CHECK(check_required_features(9, 4, known).ok());
  VT_CHECK_ERROR(check_required_features(2, 1, known), ErrorKind::Format, "claims 1.1");
  CHECK(check_required_features(0, 0, known).ok());
  CHECK(check_required_features(1, 1, known).ok());
  VT_CHECK_ERROR(check_required_features(1, 0, known), ErrorKind::Format, "claims 1.0");
  const auto split = std::find_if(known.begin(), known.end(), [](const Feature& f) { return f.bit == 5; });
  REQUIRE(split != known.end());
  CHECK(std::string(split->name) == "f16-split");
  CHECK(split->minor == 6);
  VT_CHECK_ERROR(check_required_features(0x28, 5, known), ErrorKind::Format,
                 "feature f16-split (bit 5) is defined by format 1.6");
  CHECK(check_required_features(0x29, 6, known).ok());
  VT_CHECK_ERROR(check_required_features(uint64_t{1} << 6, 7, known), ErrorKind::Format,
                 "(bits 0x40); upgrade vramsnap");

  // The mechanism, with a table as a later revision will have it.
  const Feature table[] = {{0, "leaf-hash", 1}, {2, "planes", 3}};
  CHECK(check_required_features(0b001, 1, table).ok());
  CHECK(check_required_features(0b101, 3, table).ok());
  CHECK(check_required_features(0b101, 9, table).ok());  // later minors keep the bit's meaning
  VT_CHECK_ERROR(check_required_features(0b010, 3, table), ErrorKind::Format, "(bits 0x2)");
  VT_CHECK_ERROR(check_required_features(0b1000, 3, table), ErrorKind::Format, "upgrade vramsnap");
  // A bit under a minor older than the one that defined it: malformed.
  VT_CHECK_ERROR(check_required_features(0b100, 2, table), ErrorKind::Format, "feature planes (bit 2) is defined by format 1.3");
  VT_CHECK_ERROR(check_required_features(0b001, 0, table), ErrorKind::Format, "claims 1.0");

  CHECK(minor_for(0, table) == 0);
  CHECK(minor_for(0b001, table) == 1);
  CHECK(minor_for(0b101, table) == 3);
  CHECK(vramsnap::format::feature_names(0b101, table) == "leaf-hash, planes");
  CHECK(vramsnap::format::feature_names(uint64_t{1} << 63, table) == "bit 63");
}

TEST_CASE("format: leaf-hashed chunks (feature leaf-sha256, format 1.1) verify and restore; any damage is refused") {
  Base b;  // captured with the default, leaf-sha256
  // The base file with its feature bit, minor and chunk hashes set as given.
  auto leafify = [&](SnapFile s, uint16_t minor, bool leaf_hashes, uint64_t bits = 1) {
    s.set_header_field(L::hdr::kRequired, bits, 8);
    s.set_header_field(L::hdr::kMinor, minor, 2);
    put_le(&s.trailer[L::trl::kMinor], minor, 2);
    for (size_t i = 0; i < s.records.size(); ++i)
      if (s.records[i].codec != 0)
        s.records[i].hash = leaf_hashes ? vramsnap::crypto::leaf_sha256(s.stored(i)) : sha256(s.stored(i));
    return s;
  };
  CHECK(b.sf.records[0].hash == vramsnap::crypto::leaf_sha256(b.sf.stored(0)));
  CHECK(build(leafify(b.sf, 1, true)) == b.bytes);
  const Bytes good = b.bytes;
  auto snap = b.open(good, "leaf.snap");
  REQUIRE_MESSAGE(snap.ok(), message_of(snap));
  CHECK(snap->meta().chunk_hash == "leaf-sha256-16k");
  CHECK(snap->meta().minor == 1);
  CHECK(snap->meta().required_features == 1);
  CHECK(vramsnap::verify(*snap, unsealed_verify(true)).ok());
  auto restored = vramsnap::restore(*snap, unsealed_restore());
  REQUIRE_MESSAGE(restored.ok(), message_of(restored));
  for (const auto& r : b.regions) {
    const auto* rr = restored->find(r.meta.name);
    REQUIRE(rr != nullptr);
    if (!r.bytes.empty()) CHECK(std::memcmp(rr->host, r.bytes.data(), r.bytes.size()) == 0);
  }
  // The same chunks as a 1.0 file (flat hashes, no bit) read too.
  auto flat = b.open(build(leafify(b.sf, 0, false, 0)), "flat.snap");
  REQUIRE(flat.ok());
  CHECK(flat->meta().chunk_hash == "sha256");
  CHECK(vramsnap::verify(*flat, unsealed_verify(true)).ok());

  // Flat hashes under the bit, or leaf hashes without it: integrity errors.
  VT_CHECK_ERROR(vramsnap::verify(*b.open(build(leafify(b.sf, 1, false)), "flat-under-bit.snap"), unsealed_verify()),
                 ErrorKind::Integrity, "SHA-256 mismatch");
  SnapFile stripped = leafify(b.sf, 1, true, 0);
  VT_CHECK_ERROR(vramsnap::verify(*b.open(build(stripped), "stripped.snap"), unsealed_verify()), ErrorKind::Integrity,
                 "SHA-256 mismatch");
  // The bit under minor 0 is malformed (section 14.2, rule 3).
  VT_CHECK_ERROR(b.open(build(leafify(b.sf, 0, true)), "minor0.snap"), ErrorKind::Format, "claims 1.0");

  // Every bit of every stored chunk byte flipped: refused at that chunk.
  const auto offs = offsets_of(good);
  for (uint64_t at = L::kDataOffset; at < offs.table; at += 97) {
    CAPTURE(at);
    auto r = b.open(flip_bit(good, at, static_cast<unsigned>(at % 8)), "flip.snap");
    REQUIRE(r.ok());
    auto v = vramsnap::verify(*r, unsealed_verify(false));
    CHECK(!v.ok());
    if (!v.ok()) CHECK(v.error().kind() == ErrorKind::Integrity);
  }
}
