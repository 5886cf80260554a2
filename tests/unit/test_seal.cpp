// Authenticity and integrity: bit flips anywhere, swapped and spliced chunks,
// stripped seals, wrong keys, replays, re-sealing, and the order of checks
// (seal before any chunk is read, chunk hash before decoding; the order of
// formats/snapshot-v1.md).
#include "sealed_fixture.h"

#include "crypto/key_access.h"
#include "fault_guard.h"
#include "format/seal.h"
#include "format/seal/registry.h"
#include "format/snapshot_data.h"

using namespace vtest;
using vramsnap::RestoreOptions;
using vramsnap::Snapshot;
using vramsnap::VerifyOptions;
namespace fault = vramsnap::io::fault;

namespace {

// The HMAC key first, so it exists when the file is sealed with it.
struct SealKey {
  KeyBytes kb = key_bytes(0x11);
  vramsnap::Key key = make_key(kb);
};

// A small sealed snapshot (about 30 KiB; regions as in sealed_fixture.h,
// the "empty" one included).
struct Sealed : SealKey, SealedFile {
  explicit Sealed(uint64_t generation = 5, uint32_t seed = 1) : SealedFile("sealed", key, generation, seed, true) {
    REQUIRE(bytes.size() <= 40 * KiB);
  }

  VerifyOptions vopt(bool decode = false) const {
    VerifyOptions v;
    v.key = &key;
    v.decode = decode;
    v.threads = 1;
    return v;
  }
  RestoreOptions ropt() const {
    RestoreOptions r;
    r.key = &key;
    r.threads = 1;
    return r;
  }
};

ErrorKind expected_kind(const Offsets& o, uint64_t off) { return vtest::expected_kind(o, off, 32); }

}  // namespace

// ---- 9. one bit flipped anywhere -------------------------------------------------

TEST_CASE("seal: one bit flipped at every offset never verifies") {
  Sealed s;
  REQUIRE(open_verify(s.path, s.vopt()).ok());
  check_every_bit_flip(s, 32, [&](const std::string& p) { return open_verify(p, s.vopt()); });
}

TEST_CASE("seal: restore and extract fail for flips in every structure they use") {
  Sealed s;
  std::vector<uint64_t> offs = {0, 8, 16, 24, 32, 48, 56, 63, 64, 2000, 4095};
  for (const Record& r : s.sf.records) {
    if (r.codec == 0) continue;
    offs.insert(offs.end(), {r.stored_offset, r.stored_offset + r.stored_size / 2, r.stored_offset + r.stored_size - 1});
    const uint64_t end = (r.stored_offset + r.stored_size + 4095) / 4096 * 4096;
    if (end > r.stored_offset + r.stored_size) offs.insert(offs.end(), {r.stored_offset + r.stored_size, end - 1});
  }
  for (uint64_t i = 0; i < s.sf.records.size(); ++i) offs.push_back(s.o.table + i * 72 + 40);  // each record's hash
  offs.insert(offs.end(), {s.o.table, s.o.manifest - 1, s.o.manifest, (s.o.manifest + s.o.manifest_end) / 2,
                           s.o.manifest_end - 1, s.o.manifest_end, s.o.seal - 1});
  for (uint64_t rel : {0, 8, 12, 16, 23, 24, 32, 63, 64, 127}) offs.push_back(s.o.seal + rel);
  for (uint64_t rel : {0, 8, 16, 20, 24, 32, 40, 48, 56, 58, 60, 64, 96, 128, 136, 144, 152, 159}) offs.push_back(s.o.trailer + rel);

  for (uint64_t off : offs) {
    const std::string where = structure_at(s.o, off);
    CAPTURE(off);
    CAPTURE(where);
    const std::string p = s.write(flip_bit(s.bytes, off, static_cast<unsigned>(off % 8)), "r.snap");
    const ErrorKind want = expected_kind(s.o, off);
    auto st = open_restore(p, s.ropt());
    REQUIRE_FALSE(st.ok());
    CHECK(std::string(vramsnap::to_string(st.error().kind())) == vramsnap::to_string(want));

    // The caller's allocator is not even called when the seal (or structure) fails.
    int calls = 0;
    std::vector<Bytes> bufs;
    RestoreOptions ro = s.ropt();
    ro.host_allocator = [&](const vramsnap::RegionMeta& m) -> void* {
      ++calls;
      bufs.emplace_back(m.size + 1);
      return bufs.back().data();
    };
    CHECK_FALSE(open_restore(p, ro).ok());
    if (where != "chunk data") CHECK(calls == 0);

    // extract leaves nothing in the directory.
    const std::string out = s.dir / "x";
    std::filesystem::create_directory(out);
    auto snap = Snapshot::open(p);
    if (snap.ok()) {
      auto ex = vramsnap::extract(*snap, out, s.ropt());
      REQUIRE_FALSE(ex.ok());
      CHECK(std::string(vramsnap::to_string(ex.error().kind())) == vramsnap::to_string(want));
    }
    CHECK(list_dir(out).empty());
    std::filesystem::remove_all(out);
  }
}

TEST_CASE("seal: restore uses only the chunks of the selected regions") {
  Sealed s;
  // A flip in a "text" chunk: restoring "raw" alone does not read it, restoring "text" fails.
  const std::string p = s.write(flip_bit(s.bytes, s.sf.records[2].stored_offset + 3), "partial.snap");
  auto snap = open_ok(p);
  RestoreOptions ro = s.ropt();
  ro.regions = {"raw", "w"};
  auto r = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(r.ok(), message_of(r));
  CHECK(std::memcmp(r->find("raw")->host, s.regions[0].bytes.data(), 5000) == 0);
  ro.regions = {"text"};
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, "region \"text\", chunk 2");
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, "SHA-256 mismatch");
  VT_CHECK_ERROR(vramsnap::verify(snap, s.vopt()), ErrorKind::Integrity, "chunk 2");
}

// ---- 10. chunk hash before decode; seal before any chunk read --------------------

TEST_CASE("seal: a chunk's hash is checked before it is decoded or copied") {
  Sealed s;
  for (size_t chunk : {size_t(1), size_t(3)}) {  // zstd, shuffle
    CAPTURE(chunk);
    // Break the frame magic: decoding these bytes would be a Format error.
    const std::string p = s.write(flip_bit(s.bytes, s.sf.records[chunk].stored_offset, 0), "h.snap");
    auto snap = open_ok(p);
    VT_CHECK_ERROR(vramsnap::verify(snap, s.vopt(true)), ErrorKind::Integrity, "SHA-256 mismatch");
    VT_CHECK_ERROR(vramsnap::restore(snap, s.ropt()), ErrorKind::Integrity, "SHA-256 mismatch");
    // Control: the same bytes with a matching hash (unsealed) fail in the decoder.
    SnapFile u = parse(read_file(p));
    u.records[chunk].hash = chunk_hash_of(u, u.stored(chunk));
    u.set_unsealed();
    const std::string pu = s.write(build(u), "hu.snap");
    auto su = open_ok(pu);
    CHECK(vramsnap::verify(su, unsealed_verify(false)).ok());
    VT_CHECK_ERROR(vramsnap::verify(su, unsealed_verify(true)), ErrorKind::Format, "no zstd frame magic");
    VT_CHECK_ERROR(vramsnap::restore(su, unsealed_restore()), ErrorKind::Format, "no zstd frame magic");
  }
  // Raw chunks are read straight into the destination and hashed there; a
  // flipped byte is still an integrity failure and nothing is handed over.
  const std::string p = s.write(flip_bit(s.bytes, s.sf.records[0].stored_offset + 4999, 7), "raw.snap");
  VT_CHECK_ERROR(open_restore(p, s.ropt()), ErrorKind::Integrity, "region \"raw\", chunk 0");
  // Padding after a chunk is checked too.
  const std::string pp = s.write(flip_bit(s.bytes, s.sf.records[0].stored_offset + 5000, 0), "pad.snap");
  VT_CHECK_ERROR(open_restore(pp, s.ropt()), ErrorKind::Integrity, "alignment padding after the chunk is not zero");
  VT_CHECK_ERROR(open_verify(pp, s.vopt()), ErrorKind::Integrity, "alignment padding");
}

TEST_CASE("seal: the seal and the generation are checked before any chunk is read") {
  Sealed s;
  auto snap = open_ok(s.path);
  const auto other = make_key(key_bytes(0x99));
  // Every read after open fails: a wrong key must still be reported as such,
  // because no chunk is read before the seal is checked.
  FaultGuard guard({fault::Kind::ReadEio, 1});
  RestoreOptions ro = s.ropt();
  ro.key = &other;
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, "wrong key");
  VerifyOptions vo = s.vopt();
  vo.key = &other;
  VT_CHECK_ERROR(vramsnap::verify(snap, vo), ErrorKind::Integrity, "wrong key");
  ro = s.ropt();
  ro.min_generation = 6;
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, "older than the required minimum 6");
  VT_CHECK_ERROR(vramsnap::extract(snap, s.dir / "never", ro), ErrorKind::Integrity, "older than");
  CHECK_FALSE(path_exists(s.dir / "never"));
  // With the right key the first chunk read hits the injected EIO: an I/O error.
  fault::set_plan({fault::Kind::ReadEio, 1});
  VT_CHECK_ERROR(vramsnap::restore(snap, s.ropt()), ErrorKind::IO, "read at offset");
}

// ---- 11. swapped and spliced chunks -----------------------------------------------

TEST_CASE("seal: two chunks swapped") {
  TempDir dir("seal");
  const KeyBytes kb = key_bytes(0x21);
  const auto key = make_key(kb);
  auto opt = capture_options();
  opt.key = &key;
  const Bytes data = random_bytes(128 * KiB, 77);
  const Bytes f = make_snapshot(dir / "two.snap", {region("r", data, "u8")}, opt);
  SnapFile sf = parse(f);
  REQUIRE(sf.records.size() == 2);
  REQUIRE(sf.records[0].codec == 1);
  REQUIRE(sf.records[1].stored_size == sf.records[0].stored_size);
  const uint64_t a = sf.records[0].stored_offset, b = sf.records[1].stored_offset, n = sf.records[0].stored_size;
  VerifyOptions vo;
  vo.key = &key;
  vo.decode = true;
  RestoreOptions ro;
  ro.key = &key;

  SUBCASE("stored bytes swapped in the data area") {
    Bytes g = f;
    std::swap_ranges(g.begin() + static_cast<std::ptrdiff_t>(a), g.begin() + static_cast<std::ptrdiff_t>(a + n),
                     g.begin() + static_cast<std::ptrdiff_t>(b));
    write_file(dir / "swap.snap", g);
    auto snap = open_ok(dir / "swap.snap");
    VT_CHECK_ERROR(vramsnap::verify(snap, vo), ErrorKind::Integrity, "SHA-256 mismatch");
    VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, "SHA-256 mismatch");
  }
  SUBCASE("bytes and hashes swapped consistently: only the seal catches it") {
    SnapFile s = sf;
    auto stored = all_stored(s);
    std::swap(stored[0], stored[1]);
    relayout(s, stored, /*rehash=*/true);  // every record's hash matches its (swapped) bytes
    write_file(dir / "swap2.snap", build(s));  // seal block kept, trailer changed
    auto snap = open_ok(dir / "swap2.snap");
    VT_CHECK_ERROR(vramsnap::verify(snap, vo), ErrorKind::Integrity, "seal does not match");
    VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, "seal does not match");
    // Without the key (structure and hashes only) the swap goes unnoticed, so
    // the seal really is what catches it.
    auto unsealed_ok = vramsnap::restore(snap, unsealed_restore());
    REQUIRE_MESSAGE(unsealed_ok.ok(), message_of(unsealed_ok));
    const uint8_t* h = static_cast<const uint8_t*>(unsealed_ok->regions()[0].host);
    CHECK(std::memcmp(h, data.data() + n, n) == 0);
  }
}

TEST_CASE("seal: a chunk spliced from another snapshot sealed with the same key") {
  Sealed a(5, 1), b(5, 100);
  REQUIRE(open_verify(b.path, b.vopt()).ok());
  // B's raw chunk 0 (bytes and record) into A, A's seal block kept.
  const std::string p = a.write(build(with_first_chunk_of(a, b)), "spliced.snap");
  auto snap = open_ok(p);
  VT_CHECK_ERROR(vramsnap::verify(snap, a.vopt(true)), ErrorKind::Integrity, "seal does not match");
  VT_CHECK_ERROR(vramsnap::restore(snap, a.ropt()), ErrorKind::Integrity, "seal does not match");
  CHECK(vramsnap::verify(snap, unsealed_verify(true)).ok());  // hashes alone cannot tell

  // B's whole tail (table, manifest, seal, trailer) behind A's header: the
  // snapshot ids differ.
  SnapFile t = b.sf;
  t.head = a.sf.head;
  VT_CHECK_ERROR(Snapshot::open(a.write(build(t), "tail.snap")), ErrorKind::Format, "snapshot id differs");
  // B's seal block on A: valid MAC for another header and trailer.
  VT_CHECK_ERROR(open_verify(a.write(build(with_seal_of(a, b)), "sealb.snap"), a.vopt()), ErrorKind::Integrity,
                 "seal does not match");
}

// ---- 12. seal stripped ------------------------------------------------------------

TEST_CASE("seal: a stripped seal is refused unless unsealed files are allowed") {
  Sealed s;
  SnapFile u = s.sf;
  u.set_unsealed();
  const Bytes stripped = build(u);
  // Only the seal block changed.
  for (size_t i = 0; i < stripped.size(); ++i)
    if (i < s.o.seal || i >= s.o.seal + 128) REQUIRE(stripped[i] == s.bytes[i]);
  const std::string p = s.write(stripped, "stripped.snap");
  auto snap = open_ok(p);
  CHECK(snap.seal().state == vramsnap::SealState::Unsealed);
  VT_CHECK_ERROR(vramsnap::verify(snap, s.vopt()), ErrorKind::Integrity, "snapshot is not sealed");
  VT_CHECK_ERROR(vramsnap::restore(snap, s.ropt()), ErrorKind::Integrity, "not sealed");
  VT_CHECK_ERROR(vramsnap::extract(snap, s.dir / "x", s.ropt()), ErrorKind::Integrity, "not sealed");
  VerifyOptions nokey;
  VT_CHECK_ERROR(vramsnap::verify(snap, nokey), ErrorKind::Integrity, "not sealed");
  // Explicitly allowed: structure and hashes are checked, and reported as unsealed.
  VerifyOptions allow = s.vopt(true);
  allow.allow_unsealed = true;
  auto v = vramsnap::verify(snap, allow);
  REQUIRE_MESSAGE(v.ok(), message_of(v));
  CHECK_FALSE(v->seal_checked);
  CHECK(v->seal.state == vramsnap::SealState::Unsealed);
}

TEST_CASE("seal: a sealed file without a key") {
  Sealed s;
  auto snap = open_ok(s.path);
  VerifyOptions nokey;
  VT_CHECK_ERROR(vramsnap::verify(snap, nokey), ErrorKind::Usage, "a key is needed");
  RestoreOptions rnokey;
  VT_CHECK_ERROR(vramsnap::restore(snap, rnokey), ErrorKind::Usage, "a key is needed");
  nokey.allow_unsealed = true;  // structure-only check of a sealed file
  auto v = vramsnap::verify(snap, nokey);
  REQUIRE_MESSAGE(v.ok(), message_of(v));
  CHECK_FALSE(v->seal_checked);
  auto vk = vramsnap::verify(snap, s.vopt());
  REQUIRE(vk.ok());
  CHECK(vk->seal_checked);
  CHECK(vk->seal.key_id_hex == s.key.id_hex());
}

// ---- 13. wrong key ------------------------------------------------------------------

TEST_CASE("seal: a wrong key is named together with the expected one") {
  Sealed s;
  auto snap = open_ok(s.path);
  const auto wrong = make_key(key_bytes(0x55));
  const std::string want = s.key.id_hex(), got = wrong.id_hex();
  REQUIRE(want.size() == 16);
  REQUIRE(got.size() == 16);
  REQUIRE(want != got);
  CHECK(snap.seal().key_id_hex == want);
  VerifyOptions vo = s.vopt();
  vo.key = &wrong;
  auto v = vramsnap::verify(snap, vo);
  VT_CHECK_ERROR(v, ErrorKind::Integrity, "sealed with key " + want + ", but the supplied key is " + got);
  RestoreOptions ro = s.ropt();
  ro.key = &wrong;
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, want);
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Integrity, got);
  // A forged seal block that claims the right key id but carries another
  // key's MAC: the MAC check (not the id) refuses it.
  SnapFile f = s.sf;
  BuildOptions bo;
  bo.seal_key = key_bytes(0x55);
  Bytes forged = build(f, bo);
  const auto id = key_id_of(s.kb);
  std::copy(id.begin(), id.end(), forged.begin() + static_cast<std::ptrdiff_t>(s.o.seal + 16));
  VT_CHECK_ERROR(open_verify(s.write(forged, "forged.snap"), s.vopt()), ErrorKind::Integrity,
                 "seal does not match (key " + want + ")");
  // The messages never contain key material.
  const std::string key_hex = hex(s.kb);
  CHECK_FALSE(contains(v.error().message(), key_hex));
}

// ---- 14. replay ----------------------------------------------------------------------

TEST_CASE("seal: replay of an older generation is refused with min_generation") {
  Sealed g5(5, 1), g3(3, 1);
  auto s5 = open_ok(g5.path);
  auto s3 = open_ok(g3.path);
  CHECK(s5.meta().generation == 5);
  CHECK(s3.meta().generation == 3);
  VerifyOptions vo = g5.vopt();
  vo.min_generation = 4;
  CHECK(vramsnap::verify(s5, vo).ok());
  VT_CHECK_ERROR(vramsnap::verify(s3, vo), ErrorKind::Integrity, "generation 3 is older than the required minimum 4");
  vo.min_generation = 5;
  CHECK(vramsnap::verify(s5, vo).ok());
  vo.min_generation = 6;
  VT_CHECK_ERROR(vramsnap::verify(s5, vo), ErrorKind::Integrity, "replayed or stale snapshot");
  RestoreOptions ro = g5.ropt();
  ro.min_generation = 4;
  CHECK(vramsnap::restore(s5, ro).ok());
  VT_CHECK_ERROR(vramsnap::restore(s3, ro), ErrorKind::Integrity, "older than the required minimum 4");
  // Without min_generation both are valid: a seal does not expire.
  CHECK(vramsnap::verify(s3, g5.vopt()).ok());

  // The generation is under the seal: raising it in the manifest (hashes
  // recomputed) breaks the MAC.
  SnapFile f = g3.sf;
  auto j = f.manifest_json();
  j["generation"] = 5;
  f.set_manifest(j);
  const std::string p = g3.write(build(f), "bumped.snap");
  auto bumped = open_ok(p);
  CHECK(bumped.meta().generation == 5);
  vo.min_generation = 4;
  VT_CHECK_ERROR(vramsnap::verify(bumped, vo), ErrorKind::Integrity, "seal does not match");
  // Same for the labels.
  SnapFile l = g5.sf;
  auto jl = l.manifest_json();
  jl["labels"]["model"] = "other";
  l.set_manifest(jl);
  VT_CHECK_ERROR(open_verify(g5.write(build(l), "labels.snap"), g5.vopt()), ErrorKind::Integrity, "seal does not match");
}

// ---- re-sealing ---------------------------------------------------------------------

TEST_CASE("seal: re-sealing with another key replaces the seal and nothing else") {
  Sealed s;
  const KeyBytes kb2 = key_bytes(0x77);
  const auto key2 = make_key(kb2);
  vramsnap::SealInfo prev;
  auto r = vramsnap::seal(s.path, key2, &prev);
  REQUIRE_MESSAGE(r.ok(), message_of(r));
  CHECK(prev.state == vramsnap::SealState::HmacSha256);
  CHECK(prev.key_id_hex == s.key.id_hex());
  CHECK(r->key_id_hex == key2.id_hex());
  const Bytes after = read_file(s.path);
  REQUIRE(after.size() == s.bytes.size());
  for (size_t i = 0; i < after.size(); ++i)
    if (i < s.o.seal || i >= s.o.seal + 128) REQUIRE(after[i] == s.bytes[i]);
  CHECK_FALSE(std::equal(after.begin() + static_cast<std::ptrdiff_t>(s.o.seal),
                         after.begin() + static_cast<std::ptrdiff_t>(s.o.seal + 128),
                         s.bytes.begin() + static_cast<std::ptrdiff_t>(s.o.seal)));
  // The new seal is the one the spec defines.
  BuildOptions bo;
  bo.seal_key = kb2;
  CHECK(build(s.sf, bo) == after);

  auto snap = open_ok(s.path);
  VT_CHECK_ERROR(vramsnap::verify(snap, s.vopt()), ErrorKind::Integrity, "but the supplied key is " + s.key.id_hex());
  VerifyOptions v2 = s.vopt(true);
  v2.key = &key2;
  CHECK(vramsnap::verify(snap, v2).ok());

  // Sealing again with the same key is deterministic.
  REQUIRE(vramsnap::seal(s.path, key2).ok());
  CHECK(read_file(s.path) == after);

  // Sealing an unsealed file writes only the seal block.
  SnapFile u = s.sf;
  u.set_unsealed();
  const Bytes unsealed = build(u);
  const std::string up = s.write(unsealed, "u.snap");
  vramsnap::SealInfo was;
  REQUIRE(vramsnap::seal(up, s.key, &was).ok());
  CHECK(was.state == vramsnap::SealState::Unsealed);
  CHECK(read_file(up) == s.bytes);
}

TEST_CASE("seal: sealing validates the structure but not chunk data") {
  Sealed s;
  // A structurally broken file is not sealed and not modified.
  const Bytes broken = flip_bit(s.bytes, s.o.trailer + 3);
  const std::string pb = s.write(broken, "broken.snap");
  VT_CHECK_ERROR(vramsnap::seal(pb, s.key), ErrorKind::Format, "trailer: check value mismatch");
  CHECK(read_file(pb) == broken);
  // A file whose chunk bytes are corrupt can be sealed (section 15: sealing
  // reads no chunk data), and still fails verification.
  const Bytes bad_chunk = flip_bit(s.bytes, s.sf.records[1].stored_offset + 10);
  const std::string pc = s.write(bad_chunk, "badchunk.snap");
  const auto key2 = make_key(key_bytes(0x78));
  REQUIRE(vramsnap::seal(pc, key2).ok());
  VerifyOptions vo = s.vopt();
  vo.key = &key2;
  VT_CHECK_ERROR(open_verify(pc, vo), ErrorKind::Integrity, "SHA-256 mismatch");
}

TEST_CASE("seal registry: HMAC-SHA256 is algorithm 1, and dispatch goes through it") {
  namespace F = vramsnap::format;
  const auto* hmac = F::find_seal_algorithm(1);
  REQUIRE(hmac != nullptr);
  CHECK(std::string(hmac->name) == "hmac-sha256");
  CHECK(hmac->tag_size == 32);
  CHECK(static_cast<uint32_t>(vramsnap::SealState::HmacSha256) == hmac->id);
  CHECK(F::find_seal_algorithm(0) == nullptr);  // "unsealed" is no algorithm
  for (uint32_t id : {3u, 255u, 0xFFFFFFFFu}) CHECK(F::find_seal_algorithm(id) == nullptr);
  REQUIRE(F::seal_algorithms().size() == 2);
  CHECK(F::seal_algorithms()[0] == hmac);
  CHECK(std::string(F::seal_algorithms()[1]->name) == "ed25519");

  Sealed s;
  CHECK(s.key.type() == vramsnap::KeyType::Secret);
  const auto& material = vramsnap::KeyAccess::material(s.key);
  CHECK(F::sealing_algorithm(material) == hmac);

  // The writer's seal block is the registry's, and the tag is spec 9.2's MAC.
  auto snap = open_ok(s.path);
  const auto& d = vramsnap::SnapshotAccess::data(snap);
  auto block = F::make_seal(s.key, d.header_bytes, d.trailer_bytes);
  REQUIRE(block.ok());
  const auto enc = F::encode_seal(*block);
  CHECK(std::equal(enc.begin(), enc.end(), s.sf.seal.begin()));
  const Digest mac = seal_mac(s.kb, d.header_bytes, std::span(d.trailer_bytes).first(L::trl::kSealedPart));
  CHECK(std::equal(mac.begin(), mac.end(), block->tag.begin()));
  CHECK(std::all_of(block->tag.begin() + 32, block->tag.end(), [](uint8_t b) { return b == 0; }));
  const auto info = F::seal_info(*block);
  CHECK(info.state == vramsnap::SealState::HmacSha256);
  CHECK(info.algorithm == "hmac-sha256");
  CHECK(info.key_id_hex == s.key.id_hex());
  CHECK(snap.seal().algorithm == "hmac-sha256");
  CHECK(F::seal_info(F::SealBlock{}).algorithm.empty());

  // The verifier checks exactly tag_size bytes, in constant time.
  const F::SealedBytes sealed{{d.seal_block.key_id.data(), 8}, {d.header_bytes.data(), d.header_bytes.size()},
                              {d.trailer_bytes.data(), L::trl::kSealedPart}};
  std::span<const uint8_t> tag(block->tag.data(), 32);
  CHECK(hmac->check(material, sealed, tag));
  CHECK_FALSE(hmac->check(material, sealed, tag.first(31)));
  auto bad = block->tag;
  bad[31] ^= 1;
  CHECK_FALSE(hmac->check(material, sealed, std::span<const uint8_t>(bad.data(), 32)));
  CHECK(F::check_seal(d, &s.key, false).ok());

  // An algorithm id outside the registry is refused at open, naming the id.
  for (uint32_t id : {3u, 7u}) {
    Bytes b = s.bytes;
    put_le(&b[s.o.seal + L::seal::kAlgorithm], id, 4);
    const std::string p = s.write(b, "alg.snap");
    VT_CHECK_ERROR(Snapshot::open(p), ErrorKind::Format,
                   "seal block: unknown seal algorithm " + std::to_string(id) + " (upgrade vramsnap)");
  }
}

TEST_CASE("public Key: a typed handle; the library reaches the material through KeyAccess") {
  const KeyBytes k = key_bytes(0x42);
  auto pub = vramsnap::Key::from_bytes(k.data(), k.size());
  REQUIRE(pub.ok());
  CHECK(pub->type() == vramsnap::KeyType::Secret);
  const vramsnap::crypto::Key& material = vramsnap::KeyAccess::material(*pub);
  CHECK(material.type() == vramsnap::KeyType::Secret);
  CHECK(std::equal(material.bytes().begin(), material.bytes().end(), k.begin()));
  CHECK(pub->id_hex() == material.id_hex());
  // Copies share the material: the key bytes exist once in memory.
  const vramsnap::Key copy = *pub;
  CHECK(&vramsnap::KeyAccess::material(copy) == &material);
  CHECK_FALSE(vramsnap::Key::from_bytes(k.data(), 31).ok());
}
