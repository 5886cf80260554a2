// Ed25519-signed snapshots (seal algorithm 2, feature bit 1): the spec's
// worked example, and reliability cases 9-14 on signed files (bit flips
// anywhere, swapped and spliced chunks, stripped signature, downgrade to
// HMAC, wrong key, replay), the trust policy of hosts given public keys, and
// signing an existing file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealed_fixture.h"

#include "crypto/key.h"
#include "crypto/key_access.h"
#include "format/seal/registry.h"

using namespace vtest;
using vramsnap::Key;
using vramsnap::KeyType;
using vramsnap::RestoreOptions;
using vramsnap::SealState;
using vramsnap::Snapshot;
using vramsnap::VerifyOptions;

namespace {

Key seed_key(uint8_t first) {
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(first + i);
  auto k = Key::ed25519_from_seed(seed.data(), seed.size());
  REQUIRE(k.ok());
  return *k;
}

Key public_of(const Key& k) {
  auto p = k.public_key();
  REQUIRE(p.ok());
  return *p;
}

// The keys first, so they exist when the file is signed.
struct SignKeys {
  Key key = seed_key(0x40);
  Key pub = public_of(key);
};

// A small signed snapshot with raw, zstd, shuffle and zero chunks.
struct Signed : SignKeys, SealedFile {
  explicit Signed(uint64_t generation = 5, uint32_t seed = 1) : SealedFile("signed", key, generation, seed, false) {}

  VerifyOptions vopt(bool decode = false) const {
    VerifyOptions v;
    v.trusted_keys = {pub};
    v.decode = decode;
    v.threads = 1;
    return v;
  }
  RestoreOptions ropt() const {
    RestoreOptions r;
    r.trusted_keys = {pub};
    r.threads = 1;
    return r;
  }
};

}  // namespace

// ---- the spec's worked example (section 9.4) ------------------------------------

TEST_CASE("ed25519: the worked example of spec section 9.4") {
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < 32; ++i) seed[i] = static_cast<uint8_t>(i);
  const auto k = vramsnap::crypto::Key::ed25519_from_seed(seed);
  CHECK(hex(vramsnap::crypto::raw_public(k.pkey())) ==
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  CHECK(k.id_hex() == "9f1ce4a508f663bd");
  CHECK(k.public_key().id_hex() == "9f1ce4a508f663bd");
  Bytes header(64), trailer(144);
  for (size_t i = 0; i < header.size(); ++i) header[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < trailer.size(); ++i) trailer[i] = static_cast<uint8_t>(i);
  const auto* alg = vramsnap::format::find_seal_algorithm(2);
  REQUIRE(alg != nullptr);
  CHECK(std::string(alg->name) == "ed25519");
  CHECK(alg->tag_size == 64);
  CHECK(alg->feature == 2);
  const vramsnap::format::SealedBytes sealed{k.id(), header, trailer};
  auto tag = alg->seal(k, sealed);
  REQUIRE(tag.ok());
  CHECK(hex({tag->data(), 64}) ==
        "ef6d11bf1e9bdc303c4847ebd2d65e499f9623f8f7fbc5aaf34c5cf655150f2a"
        "82ad13813350025615071aa77e70be72a0b7ff6cc870cea0c0b7f973a756f40b");
  CHECK(std::all_of(tag->begin() + 64, tag->end(), [](uint8_t b) { return b == 0; }));
  const auto pub = k.public_key();
  CHECK(alg->check(pub, sealed, {tag->data(), 64}));
  CHECK_FALSE(alg->can_seal(pub));
  Bytes bad_header = header;
  bad_header[0] ^= 1;
  CHECK_FALSE(alg->check(pub, {k.id(), bad_header, trailer}, {tag->data(), 64}));
}

TEST_CASE("ed25519: a signed file sets feature bit 1 and format 1.2; an unsealed one stays 1.0") {
  Signed s;
  auto snap = open_ok(s.path);
  CHECK(snap.meta().minor == 2);
  CHECK((snap.meta().required_features & 2) == 2);
  CHECK(snap.seal().state == SealState::Ed25519);
  CHECK(snap.seal().algorithm == "ed25519");
  CHECK(snap.seal().key_id_hex == s.pub.id_hex());
  auto v = vramsnap::verify(snap, s.vopt(true));
  REQUIRE_MESSAGE(v.ok(), message_of(v));
  CHECK(v->seal_checked);
  // The private key checks too.
  VerifyOptions with_private;
  with_private.key = &s.key;
  CHECK(vramsnap::verify(snap, with_private).ok());
}

// ---- 9. one bit flipped anywhere ---------------------------------------------------

TEST_CASE("ed25519: one bit flipped at every offset never verifies") {
  Signed s;
  REQUIRE(open_verify(s.path, s.vopt()).ok());
  check_every_bit_flip(s, 64, [&](const std::string& p) { return open_verify(p, s.vopt()); });
}

TEST_CASE("ed25519: restore fails for a flip in every structure it uses") {
  Signed s;
  std::vector<uint64_t> offs = {0, 16, 56, s.o.table + 3, s.o.manifest + 5, s.o.seal + 16, s.o.seal + 40,
                                s.o.seal + 95, s.o.trailer + 10};
  for (const Record& r : s.sf.records)
    if (r.codec != 0) offs.push_back(r.stored_offset + r.stored_size / 2);
  for (uint64_t off : offs) {
    CAPTURE(off);
    auto snap = Snapshot::open(s.write(flip_bit(s.bytes, off, 2), "r.snap"));
    if (!snap.ok()) continue;  // refused at open: the same guarantee
    CHECK_FALSE(vramsnap::restore(*snap, s.ropt()).ok());
  }
}

// ---- 11. swapped and spliced chunks -------------------------------------------------

TEST_CASE("ed25519: chunks swapped consistently, or spliced from another signed snapshot, break the signature") {
  Signed a(5, 1), b(5, 100);
  auto opt = capture_options();
  opt.key = &a.key;
  const Bytes two = make_snapshot(a.dir / "two.snap", {region("r", random_bytes(128 * KiB, 77), "u8")}, opt);
  SnapFile s = parse(two);
  REQUIRE(s.records.size() == 2);
  auto stored = all_stored(s);
  std::swap(stored[0], stored[1]);
  relayout(s, stored, /*rehash=*/true);
  auto swapped = open_ok(a.write(build(s), "swap.snap"));
  VT_CHECK_ERROR(vramsnap::verify(swapped, a.vopt()), ErrorKind::Integrity, "seal does not match");
  VT_CHECK_ERROR(vramsnap::restore(swapped, a.ropt()), ErrorKind::Integrity, "seal does not match");

  auto spliced = open_ok(a.write(build(with_first_chunk_of(a, b)), "spliced.snap"));
  VT_CHECK_ERROR(vramsnap::verify(spliced, a.vopt()), ErrorKind::Integrity, "seal does not match");
  CHECK(vramsnap::verify(spliced, unsealed_verify(true)).ok());  // hashes alone cannot tell
  // B's signature block on A: a valid signature over another header and trailer.
  VT_CHECK_ERROR(open_verify(a.write(build(with_seal_of(a, b)), "sigb.snap"), a.vopt()), ErrorKind::Integrity,
                 "seal does not match");
}

// ---- 12. signature stripped ------------------------------------------------------------

TEST_CASE("ed25519: a stripped signature is refused") {
  Signed s;
  // Only the seal block zeroed: the header still sets bit 1, which a file
  // without an Ed25519 seal may not (format error at open).
  SnapFile u = s.sf;
  u.set_unsealed();
  VT_CHECK_ERROR(Snapshot::open(s.write(build(u), "strip1.snap")), ErrorKind::Format,
                 "feature ed25519 is set, but the file is unsealed");
  // Bit 1 cleared as well, the minor lowered to what the other bits need
  // (header check recomputed): a well-formed unsealed file, which a host
  // given public keys refuses.
  const uint64_t rest = get_le(&u.head[L::hdr::kRequired], 8) & ~uint64_t{2};
  const uint16_t minor = rest ? 1 : 0;
  u.set_header_field(L::hdr::kRequired, rest, 8);
  u.set_header_field(L::hdr::kMinor, minor, 2);
  BuildOptions bo;
  bo.edit_trailer = [minor](uint8_t* t) { put_le(t + L::trl::kMinor, minor, 2); };
  auto snap = open_ok(s.write(build(u, bo), "strip2.snap"));
  CHECK(snap.seal().state == SealState::Unsealed);
  VT_CHECK_ERROR(vramsnap::verify(snap, s.vopt()), ErrorKind::Integrity, "snapshot is not sealed");
  VT_CHECK_ERROR(vramsnap::restore(snap, s.ropt()), ErrorKind::Integrity, "not sealed");
  VerifyOptions allow = s.vopt();
  allow.allow_unsealed = true;  // told otherwise, explicitly
  auto v = vramsnap::verify(snap, allow);
  REQUIRE_MESSAGE(v.ok(), message_of(v));
  CHECK_FALSE(v->seal_checked);
}

// ---- downgrade to HMAC -------------------------------------------------------------------

TEST_CASE("ed25519: a host given public keys refuses HMAC seals (downgrade)") {
  Signed s;
  const auto hmac = make_key(key_bytes(0x77));
  // An attacker with some HMAC key re-seals the file: feature bit cleared,
  // a valid HMAC seal.
  const std::string p = s.write(s.bytes, "down.snap");
  auto sealed = vramsnap::seal(p, hmac);
  REQUIRE_MESSAGE(sealed.ok(), message_of(sealed));
  auto snap = open_ok(p);
  CHECK(snap.seal().state == SealState::HmacSha256);
  CHECK((snap.meta().required_features & 2) == 0);
  CHECK(snap.meta().minor == (snap.meta().required_features ? 1 : 0));
  VT_CHECK_ERROR(vramsnap::verify(snap, s.vopt()), ErrorKind::Integrity,
                 "sealed with hmac-sha256 (key " + hmac.id_hex() + "), which none of the keys given here can check");
  VT_CHECK_ERROR(vramsnap::restore(snap, s.ropt()), ErrorKind::Integrity, "none of the keys given here can check");
  VerifyOptions allow = s.vopt();
  allow.allow_unsealed = true;  // allowing unsealed files does not admit HMAC seals
  VT_CHECK_ERROR(vramsnap::verify(snap, allow), ErrorKind::Integrity, "none of the keys given here can check");
  // Told otherwise: the HMAC key given as well.
  VerifyOptions both = s.vopt();
  both.key = &hmac;
  CHECK(vramsnap::verify(snap, both).ok());

  // The algorithm field alone changed to HMAC: the tag's upper half is not
  // zero and the feature bit disagrees (format errors at open).
  Bytes b = s.bytes;
  put_le(&b[s.o.seal + L::seal::kAlgorithm], 1, 4);
  CHECK_FALSE(Snapshot::open(s.write(b, "alg1.snap")).ok());
}

// ---- 13. wrong key -------------------------------------------------------------------------

TEST_CASE("ed25519: a wrong key is named; any one of several trusted keys may have signed") {
  Signed s;
  auto snap = open_ok(s.path);
  const Key other = public_of(seed_key(0x90));
  const Key third = public_of(seed_key(0xa0));
  VerifyOptions vo = s.vopt();
  vo.trusted_keys = {other};
  VT_CHECK_ERROR(vramsnap::verify(snap, vo), ErrorKind::Integrity,
                 "sealed with key " + s.pub.id_hex() + ", but the supplied key is " + other.id_hex());
  vo.trusted_keys = {other, third};
  VT_CHECK_ERROR(vramsnap::verify(snap, vo), ErrorKind::Integrity, "which is none of the 2 keys given");
  vo.trusted_keys = {other, s.pub, third};  // rotation: old and new keys trusted
  CHECK(vramsnap::verify(snap, vo).ok());
  // An HMAC key whose bytes are the public key: different id domain, never a match.
  const auto raw = vramsnap::crypto::raw_public(vramsnap::KeyAccess::material(s.pub).pkey());
  KeyBytes kb{};
  std::copy(raw.begin(), raw.end(), kb.begin());
  const auto lookalike = make_key(kb);
  CHECK(lookalike.id_hex() != s.pub.id_hex());
  // A forged block: the right key id, another key's signature.
  const Key forger = seed_key(0x90);
  auto f = build(s.sf);
  const std::string fp = s.write(f, "forged.snap");
  REQUIRE(vramsnap::seal(fp, forger).ok());
  Bytes forged = read_file(fp);
  const auto id = vramsnap::KeyAccess::material(s.pub).id();
  std::copy(id.begin(), id.end(), forged.begin() + static_cast<std::ptrdiff_t>(s.o.seal + 16));
  VT_CHECK_ERROR(open_verify(s.write(forged, "forged2.snap"), s.vopt()), ErrorKind::Integrity,
                 "seal does not match (key " + s.pub.id_hex() + ")");
}

// ---- 14. replay ------------------------------------------------------------------------------

TEST_CASE("ed25519: replay of an older generation is refused with min_generation") {
  Signed g5(5, 1), g3(3, 1);
  VerifyOptions vo = g5.vopt();
  vo.min_generation = 4;
  CHECK(vramsnap::verify(open_ok(g5.path), vo).ok());
  VT_CHECK_ERROR(vramsnap::verify(open_ok(g3.path), vo), ErrorKind::Integrity, "older than the required minimum 4");
  RestoreOptions ro = g5.ropt();
  ro.min_generation = 4;
  VT_CHECK_ERROR(vramsnap::restore(open_ok(g3.path), ro), ErrorKind::Integrity, "replayed or stale snapshot");
  // The generation is under the signature.
  SnapFile f = g3.sf;
  auto j = f.manifest_json();
  j["generation"] = 5;
  f.set_manifest(j);
  VT_CHECK_ERROR(open_verify(g3.write(build(f), "bumped.snap"), vo), ErrorKind::Integrity, "seal does not match");
}

// ---- signing an existing file -------------------------------------------------------------

TEST_CASE("ed25519: seal signs an unsealed file (rewritten), re-signs in place, and HMAC clears the bit") {
  TempDir dir("signed");
  auto opt = capture_options();
  const std::string p = dir / "u.snap";
  const Bytes plain = make_snapshot(p, {region("r", random_bytes(9000, 3), "u8")}, opt);
  REQUIRE(::chmod(p.c_str(), 0640) == 0);
  const Key k1 = seed_key(1), k2 = seed_key(2);
  const Key pub1 = public_of(k1);

  vramsnap::SealInfo prev;
  auto now = vramsnap::seal(p, k1, &prev);
  REQUIRE_MESSAGE(now.ok(), message_of(now));
  CHECK(prev.state == SealState::Unsealed);
  CHECK(now->state == SealState::Ed25519);
  CHECK(now->key_id_hex == k1.id_hex());
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);  // the rewrite keeps the mode
  const Bytes signed1 = read_file(p);
  REQUIRE(signed1.size() == plain.size());
  const Offsets o = offsets_of(plain);
  // Only the header, the seal block and the trailer differ.
  for (size_t i = 64; i < o.seal; ++i) REQUIRE(signed1[i] == plain[i]);
  VerifyOptions vo;
  vo.trusted_keys = {pub1};
  CHECK(open_verify(p, vo).ok());
  CHECK(open_ok(p).meta().minor == 2);

  // Another Ed25519 key: the bits stay, so only the seal block is rewritten.
  REQUIRE(vramsnap::seal(p, k2).ok());
  const Bytes signed2 = read_file(p);
  for (size_t i = 0; i < signed2.size(); ++i)
    if (i < o.seal || i >= o.seal + 128) REQUIRE(signed2[i] == signed1[i]);
  VT_CHECK_ERROR(open_verify(p, vo), ErrorKind::Integrity, "the supplied key is " + pub1.id_hex());

  // Back to HMAC: bit and minor cleared; equal to sealing the original.
  const auto hmac = make_key(key_bytes(0x31));
  REQUIRE(vramsnap::seal(p, hmac).ok());
  const std::string q = dir / "q.snap";
  write_file(q, plain);
  REQUIRE(vramsnap::seal(q, hmac).ok());
  CHECK(read_file(p) == read_file(q));

  // A public key cannot seal.
  VT_CHECK_ERROR(vramsnap::seal(p, pub1), ErrorKind::Usage, "cannot seal");
  auto c = capture_options();
  c.key = &pub1;
  VT_CHECK_ERROR(capture(dir / "c.snap", {region("r", random_bytes(100, 3), "u8")}, c), ErrorKind::Usage,
                 "cannot seal");
}
