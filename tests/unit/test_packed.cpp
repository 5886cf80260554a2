// Packed regions (format 1.3, spec section 5.5): the writer's packing, every
// way of reading a packed chunk back, and the reader's rules for packed
// records, each broken on purpose.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "format/features.h"
#include "format/manifest.h"
#include "test_support.h"

using namespace vtest;
using vramsnap::Codec;
using vramsnap::ErrorKind;

namespace {

vramsnap::CaptureOptions packing() {
  auto o = capture_options();
  o.pack_below = 64 * KiB;
  // The chunk layout is what these tests check; auto would store some float
  // chunks as planes (format 1.4), which test_planes covers.
  o.codec = vramsnap::CodecChoice::Shuffle;
  return o;
}

// Small bf16 tensors around a large one, some all-zero, a u8 and an f32
// run: several packed chunks, a zero one, and an ordinary chunk between.
std::vector<RegionData> model_like() {
  std::vector<RegionData> r;
  for (int i = 0; i < 40; ++i) r.push_back(region("layer." + std::to_string(i) + ".bias", bf16_like(2 * (100 + i), i), "bf16"));
  r.push_back(region("embed", bf16_like(200000, 7), "bf16"));  // four ordinary chunks
  for (int i = 0; i < 5; ++i) r.push_back(region("zero." + std::to_string(i), Bytes(3000, 0), "f32"));
  r.push_back(region("empty", {}, "u8"));
  for (int i = 0; i < 30; ++i) r.push_back(region("tok/" + std::to_string(i), text_like(50 + i, i), "u8"));
  r.push_back(region("last", bf16_like(20, 3), "bf16"));
  return r;
}

void check_all(const vramsnap::Restored& r, const std::vector<RegionData>& regions) {
  REQUIRE(r.regions().size() == regions.size());
  for (size_t i = 0; i < regions.size(); ++i) {
    CAPTURE(regions[i].meta.name);
    const auto& rr = r.regions()[i];
    REQUIRE(rr.meta->size == regions[i].bytes.size());
    if (!regions[i].bytes.empty()) CHECK(std::memcmp(rr.host, regions[i].bytes.data(), regions[i].bytes.size()) == 0);
  }
}

}  // namespace

TEST_CASE("packed: the writer packs runs of small regions and sets bit 2, minor 3") {
  TempDir dir("pk");
  const auto regions = model_like();
  make_snapshot(dir / "p.snap", regions, packing());
  auto snap = open_ok(dir / "p.snap");
  CHECK(snap.meta().required_features == (L::kFeatureLeafSha256 | L::kFeaturePackedRegions));
  CHECK(snap.meta().minor == 3);
  size_t packed = 0, covered = 0;
  for (const auto& c : snap.chunks()) {
    if (!c.packed_regions) continue;
    ++packed;
    covered += c.packed_regions;
    CHECK(c.region_offset == 0);
    CHECK(c.raw_size <= 64 * KiB);
  }
  // bf16 biases; f32 zeros (one zero chunk); then u8 tokens, a new chunk
  // since the zeros hold 15000 bytes, and the last bf16 region joins them,
  // since the tokens hold less than 4 KiB.
  CHECK(packed == 3);
  CHECK(covered == 40 + 5 + 31);
  const long z = snap.find_region("zero.0");
  REQUIRE(z >= 0);
  CHECK(snap.region_chunks(static_cast<size_t>(z)).size() == 1);
  CHECK(snap.region_chunks(static_cast<size_t>(z))[0].codec == Codec::Zero);
  CHECK(snap.region_chunks(static_cast<size_t>(z))[0].packed_regions == 5);
  CHECK(snap.region_offset_in_chunk(static_cast<size_t>(z) + 2) == 6000);
  CHECK(snap.region_chunks(static_cast<size_t>(snap.find_region("embed"))).size() == 4);
  CHECK(snap.region_chunks(static_cast<size_t>(snap.find_region("last")))[0].packed_regions == 31);
  CHECK(snap.region_chunks(static_cast<size_t>(snap.find_region("layer.0.bias")))[0].codec == Codec::Shuffle);

  // Without packing: no bit, one chunk per small region, a larger file.
  auto plain = packing();
  plain.pack_below = 0;
  make_snapshot(dir / "u.snap", regions, plain);
  auto u = open_ok(dir / "u.snap");
  CHECK((u.meta().required_features & L::kFeaturePackedRegions) == 0);
  CHECK(u.meta().minor == 1);
  CHECK(std::filesystem::file_size(dir / "p.snap") * 2 < std::filesystem::file_size(dir / "u.snap"));
}

TEST_CASE("packed: verify, restore, partial restore, caller buffers, extract and extract-tree") {
  TempDir dir("pk");
  const auto regions = model_like();
  make_snapshot(dir / "p.snap", regions, packing());
  auto snap = open_ok(dir / "p.snap");
  auto vo = unsealed_verify(true);
  auto v = vramsnap::verify(snap, vo);
  REQUIRE_MESSAGE(v.ok(), message_of(v));

  auto r = vramsnap::restore(snap, unsealed_restore());
  REQUIRE_MESSAGE(r.ok(), message_of(r));
  check_all(*r, regions);
  CHECK(r->host_blocks().size() == 1);

  // One region of a packed chunk, and two of different chunks.
  auto ro = unsealed_restore();
  ro.regions = {"layer.7.bias", "tok/29", "zero.3"};
  auto part = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(part.ok(), message_of(part));
  REQUIRE(part->regions().size() == 3);
  const auto* b7 = part->find("layer.7.bias");
  REQUIRE(b7 != nullptr);
  CHECK(std::memcmp(b7->host, regions[7].bytes.data(), regions[7].bytes.size()) == 0);
  CHECK(part->stats().chunks == 3);

  // The caller's allocator for some regions, the library's block for the rest.
  std::vector<std::unique_ptr<uint8_t[]>> mine;
  auto ca = unsealed_restore();
  ca.host_allocator = [&](const vramsnap::RegionMeta& m) -> void* {
    if (m.name.rfind("tok/", 0) != 0) return nullptr;
    mine.emplace_back(new uint8_t[m.size]);
    return mine.back().get();
  };
  auto withcaller = vramsnap::restore(snap, ca);
  REQUIRE_MESSAGE(withcaller.ok(), message_of(withcaller));
  check_all(*withcaller, regions);
  CHECK(mine.size() == 30);
  CHECK(withcaller->find("tok/3")->caller_owned);

  auto files = vramsnap::extract(snap, dir / "out", unsealed_restore());
  REQUIRE_MESSAGE(files.ok(), message_of(files));
  REQUIRE(files->size() == regions.size());
  for (size_t i = 0; i < regions.size(); ++i) CHECK(read_file((*files)[i].path) == regions[i].bytes);

  auto tree = vramsnap::extract_tree(snap, dir / "tree", unsealed_restore());
  REQUIRE_MESSAGE(tree.ok(), message_of(tree));
  CHECK(read_file(dir / "tree/tok/12") == regions[40 + 1 + 5 + 1 + 12].bytes);
}

TEST_CASE("packed: regions the block holds as the chunk does are decoded in place") {
  TempDir dir("pk");
  // Sizes of a multiple of 64 (and an odd last one) lie back to back in the
  // host block; a zero chunk of such regions too.
  std::vector<RegionData> regions;
  for (int i = 0; i < 60; ++i) regions.push_back(region("w/" + std::to_string(i), bf16_like(256, i), "bf16"));
  regions.push_back(region("w/last", bf16_like(37, 5), "bf16"));
  for (int i = 0; i < 4; ++i) regions.push_back(region("z/" + std::to_string(i), Bytes(640, 0), "f32"));
  make_snapshot(dir / "p.snap", regions, packing());
  auto snap = open_ok(dir / "p.snap");
  REQUIRE(snap.chunks().size() == 2);
  CHECK(snap.chunks()[0].packed_regions == 61);
  CHECK(snap.chunks()[1].codec == Codec::Zero);
  auto r = vramsnap::restore(snap, unsealed_restore());
  REQUIRE_MESSAGE(r.ok(), message_of(r));
  check_all(*r, regions);
  CHECK(r->stats().phases.copy == 0.0);  // no region was copied out of a buffer
  CHECK(static_cast<const uint8_t*>(r->regions()[1].host) == static_cast<const uint8_t*>(r->regions()[0].host) + 256);
  // A region left out, or one in the caller's buffer: copied region by region.
  auto ro = unsealed_restore();
  ro.regions = {"w/0", "w/2", "w/last", "z/1"};
  auto part = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(part.ok(), message_of(part));
  for (const auto& rr : part->regions())
    CHECK(std::memcmp(rr.host, regions[rr.index].bytes.data(), rr.meta->size) == 0);
  std::vector<uint8_t> mine(256, 0xEE);
  auto ca = unsealed_restore();
  ca.host_allocator = [&](const vramsnap::RegionMeta& m) -> void* { return m.name == "w/30" ? mine.data() : nullptr; };
  auto withcaller = vramsnap::restore(snap, ca);
  REQUIRE_MESSAGE(withcaller.ok(), message_of(withcaller));
  check_all(*withcaller, regions);
  CHECK(withcaller->find("w/30")->host == mine.data());
}

TEST_CASE("packed: a chunk of the file flipped names the packed chunk's regions") {
  TempDir dir("pk");
  auto regions = model_like();
  Bytes f = make_snapshot(dir / "p.snap", regions, packing());
  f[L::kDataOffset + 10] ^= 1;  // the first chunk: the packed biases
  write_file(dir / "bad.snap", f);
  auto snap = open_ok(dir / "bad.snap");
  auto ro = unsealed_restore();
  ro.regions = {"layer.39.bias"};
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity,
                 "regions \"layer.0.bias\" .. \"layer.39.bias\", packed chunk 0");
}

// ---- the reader's rules (spec 5.5), on the worked example's file ------------

namespace {

// Regions w (4096 bytes), a (3), b (4), c (5); a, b and c packed raw, as in
// the specification's worked example.
struct Example {
  TempDir dir{"pkx"};
  SnapFile sf;
  Example() {
    auto o = packing();
    o.pack_below = 4096;  // w is not small
    o.codec = vramsnap::CodecChoice::Raw;
    o.chunk_hash = vramsnap::ChunkHash::Sha256;
    make_snapshot(dir / "x.snap",
                  {region("w", Bytes(4096, 0x77), "u8"), region("a", Bytes(3, 'a'), "u8"), region("b", Bytes(4, 'b'), "u8"),
                   region("c", Bytes(5, 'c'), "u8")},
                  o);
    sf = parse(read_file(dir / "x.snap"));
  }
  vramsnap::Result<vramsnap::Snapshot> open(const SnapFile& s) {
    write_file(dir / "t.snap", build(s));
    return vramsnap::Snapshot::open(dir / "t.snap");
  }
};

}  // namespace

TEST_CASE("packed: the specification's worked example, byte for byte") {
  Example x;
  REQUIRE(x.sf.records.size() == 2);
  const Bytes table = encode_table(x.sf.records);
  CHECK(hex(Bytes(table.begin() + 72, table.end())) == hex(unhex(R"(
      01 00 00 00 01 00 01 00 03 00 00 00 00 00 00 00
      0c 00 00 00 00 00 00 00 00 20 00 00 00 00 00 00
      0c 00 00 00 00 00 00 00 3c 7b 2a 35 a0 af 70 cc
      ad 1c 7a d1 1c 21 c2 e5 9b 8f da c8 a4 7c d9 00
      49 f4 90 83 9d eb 53 12)")));
  CHECK(get_le(x.sf.head.data() + L::hdr::kRequired, 8) == 4);
  CHECK(get_le(x.sf.head.data() + L::hdr::kMinor, 2) == 3);
  CHECK(x.sf.table_offset() == 12288);
  auto snap = x.open(x.sf);
  REQUIRE_MESSAGE(snap.ok(), message_of(snap));
  CHECK(snap->region_offset_in_chunk(2) == 3);
  CHECK(snap->region_offset_in_chunk(3) == 7);
}

TEST_CASE("packed: every rule of a packed record is checked") {
  Example x;
  auto with = [&](auto edit) {
    SnapFile s = x.sf;
    edit(s);
    return x.open(s);
  };
  auto& P = x.sf.records[1];
  REQUIRE(P.flags == 1);
  // Rule 1: flags.
  VT_CHECK_ERROR(with([](SnapFile& s) { s.records[1].flags = 3; }), ErrorKind::Format, "chunk 1: unknown flags");
  VT_CHECK_ERROR(with([](SnapFile& s) { s.records[0].flags = 1; s.records[0].region_offset = 2; }), ErrorKind::Format,
                 "the regions of packed chunk 0 hold more than its 4096 bytes (region \"a\")");
  // Bit 2 cleared: a 1.0 reader's view, the flag is unknown.
  VT_CHECK_ERROR(with([](SnapFile& s) { s.set_header_field(L::hdr::kRequired, 0, 8); }), ErrorKind::Format,
                 "chunk 1: unknown flags");
  // Bit 2 under minor 2 (header and trailer agree).
  VT_CHECK_ERROR(with([](SnapFile& s) {
                   s.set_header_field(L::hdr::kMinor, 2, 2);
                   put_le(&s.trailer[L::trl::kMinor], 2, 2);
                 }),
                 ErrorKind::Format, "packed-regions (bit 2) is defined by format 1.3, but the file claims 1.2");
  // Rule 2: n >= 2; the region cap bounds n.
  VT_CHECK_ERROR(with([](SnapFile& s) { s.records[1].region_offset = 1; }), ErrorKind::Format, "fewer than two regions");
  VT_CHECK_ERROR(with([](SnapFile& s) { s.records[1].region_offset = 0; }), ErrorKind::Format, "fewer than two regions");
  VT_CHECK_ERROR(with([](SnapFile& s) { s.records[1].region_offset = ~uint64_t(0); }), ErrorKind::Format,
                 "exceeds the region cap");
  // Rule 3: regions that exist.
  VT_CHECK_ERROR(with([](SnapFile& s) { s.records[1].region_offset = 4; }), ErrorKind::Format,
                 "packed chunk 1 holds regions 1 to 4 but the manifest has 4 regions");
  // Rule 5: sizes add up to raw_size exactly.
  VT_CHECK_ERROR(with([](SnapFile& s) { s.records[1].region_offset = 2; }), ErrorKind::Format,
                 "the 2 regions of packed chunk 1 hold 7 bytes but the chunk has 12");
  VT_CHECK_ERROR(with([](SnapFile& s) {
                   auto m = s.manifest_json();
                   m["regions"][3]["size"] = 6;
                   s.set_manifest(m);
                 }),
                 ErrorKind::Format, "hold more than its 12 bytes (region \"c\")");
  VT_CHECK_ERROR(with([](SnapFile& s) {
                   auto m = s.manifest_json();
                   m["regions"][2]["size"] = uint64_t(1) << 47;
                   m["regions"][2].erase("shape");
                   s.set_manifest(m);
                 }),
                 ErrorKind::Format, "hold more than its 12 bytes (region \"b\")");
  // Rule 4: no empty region inside.
  VT_CHECK_ERROR(with([](SnapFile& s) {
                   auto m = s.manifest_json();
                   m["regions"][2]["size"] = 0;
                   m["regions"][2].erase("shape");
                   m["regions"][3]["size"] = 9;
                   m["regions"][3].erase("shape");
                   s.set_manifest(m);
                 }),
                 ErrorKind::Format, "packed chunk 1 holds region \"b\" of size 0");
  // Coverage: a packed record after another record of its first region.
  VT_CHECK_ERROR(with([](SnapFile& s) {
                   Record extra = s.records[1];
                   extra.region = 0;
                   Record& w = s.records[0];
                   w.codec = 0;
                   w.raw_size = 2048;
                   w.stored_offset = w.stored_size = 0;
                   w.hash = sha256(std::span<const uint8_t>{});
                   s.records.insert(s.records.begin() + 1, extra);
                 }),
                 ErrorKind::Format, "packed chunk 1 follows another chunk of region \"w\"");
  // Coverage: a record for a region the packed chunk already holds.
  VT_CHECK_ERROR(with([](SnapFile& s) {
                   Record extra = s.records[0];
                   extra.region = 3;
                   s.records.push_back(extra);
                 }),
                 ErrorKind::Format, "out of order or out of range");
  (void)P;
}

TEST_CASE("packed: region_defaults apply only in files with bit 2") {
  using vramsnap::format::parse_manifest;
  const std::string text =
      R"({"format":"vramsnap-manifest","version":1,"snapshot_id":"0123456789abcdef0011223344556677",)"
      R"("created":"x","tool":"t","generation":0,"region_defaults":{"kind":"device","dtype":"bf16","device":3},)"
      R"("regions":[{"name":"a","size":4,"shape":[2]},{"name":"b","size":1,"kind":"host","dtype":"","device":-1}]})";
  auto m = parse_manifest(text, true);
  REQUIRE_MESSAGE(m.ok(), message_of(m));
  CHECK(m->regions[0].kind == vramsnap::RegionKind::Device);
  CHECK(m->regions[0].dtype == "bf16");
  CHECK(m->regions[0].device == 3);
  CHECK(m->regions[1].kind == vramsnap::RegionKind::Host);
  CHECK(m->regions[1].dtype.empty());
  CHECK(m->regions[1].device == -1);
  // Without bit 2 the member is unknown: region "a" has no kind.
  VT_CHECK_ERROR(parse_manifest(text, false), ErrorKind::Format, "regions[0]");
  // A default is checked like the region's own value.
  std::string bad = text;
  bad.replace(bad.find("\"device\":3"), 10, "\"device\":5000");
  VT_CHECK_ERROR(parse_manifest(bad, true), ErrorKind::Format, "regions[0].device");
  bad = text;
  bad.replace(bad.find("{\"kind\":\"device\""), 1, "[1],\"x\":{");
  VT_CHECK_ERROR(parse_manifest(bad, true), ErrorKind::Format, "region_defaults is not an object");

  // The writer uses them in packed files: a small region costs little more
  // than its name, size and shape.
  TempDir dir("pk");
  std::vector<RegionData> many;
  for (int i = 0; i < 2000; ++i) many.push_back(region("t" + std::to_string(i), Bytes(1, uint8_t(i)), "u8"));
  for (auto& r : many) r.meta.shape = {1};
  make_snapshot(dir / "m.snap", many, packing());
  auto snap = open_ok(dir / "m.snap");
  uint64_t names = 0;
  for (const auto& r : many) names += r.meta.name.size();
  const double per_region = double(snap.layout().manifest - names) / double(many.size());
  MESSAGE("manifest bytes per region beyond the name: " << per_region);
  CHECK(per_region < 40);  // safetensors' own header spends about 45
  CHECK(snap.chunks().size() == 1);
  auto r = vramsnap::restore(snap, unsealed_restore());
  REQUIRE(r.ok());
  check_all(*r, many);
}
