#pragma once
// What the HMAC-sealed and Ed25519-signed tests share: a small snapshot with
// raw, zstd, shuffle and zero chunks sealed by a given key, the class of error
// a flipped bit must cause in each structure, and the loop that flips a bit
// at every offset and checks that each flip is refused with that class.
#include <fcntl.h>
#include <unistd.h>

#include <functional>

#include "test_support.h"

namespace vtest {

// Regions (chunks):
//   "raw"   5000 random bytes -> raw, followed by 3192 bytes of padding
//   "text"  64 KiB + 6 KiB    -> two zstd chunks
//   "w"     4 KiB bf16        -> shuffle
//   "zero"  64 KiB of zeros   -> zero
//   "empty" 0 bytes           -> no chunk (only `with_empty`)
struct SealedFile {
  TempDir dir;
  std::vector<RegionData> regions;
  std::string path;
  Bytes bytes;
  SnapFile sf;
  Offsets o{};

  // The file is DIR/<name>.snap in a fresh temporary DIR.
  SealedFile(const std::string& name, const vramsnap::Key& key, uint64_t generation, uint32_t seed, bool with_empty)
      : dir(name) {
    regions.push_back(region("raw", random_bytes(5000, seed), "u8"));
    regions.push_back(region("text", text_like(70 * KiB, seed + 1), "u8"));
    regions.push_back(region("w", bf16_like(4 * KiB, seed + 2), "bf16"));
    regions.push_back(region("zero", Bytes(64 * KiB, 0), "u8"));
    if (with_empty) regions.push_back(region("empty", {}, "u8"));
    auto opt = capture_options();
    opt.key = &key;
    opt.generation = generation;
    opt.labels = {{"model", "test"}};
    opt.codec = vramsnap::CodecChoice::Shuffle;  // the bf16 region as shuffle, not planes
    path = dir / (name + ".snap");
    bytes = make_snapshot(path, regions, opt);
    sf = parse(bytes);
    o = offsets_of(bytes);
    REQUIRE(sf.records.size() == 5);
    REQUIRE(sf.records[0].codec == 1);
    REQUIRE(sf.records[1].codec == 2);
    REQUIRE(sf.records[2].codec == 2);
    REQUIRE(sf.records[3].codec == 3);
    REQUIRE(sf.records[4].codec == 0);
  }
  std::string write(const Bytes& b, const std::string& name = "t.snap") const {
    write_file(dir / name, b);
    return dir / name;
  }
};

// A's file with B's chunk 0 (stored bytes and table record; build()
// recomputes the table hash and trailer check), A's seal block kept: a chunk
// spliced from another file sealed by the same key.
inline SnapFile with_first_chunk_of(const SealedFile& a, const SealedFile& b) {
  REQUIRE(a.sf.records[0].stored_offset == b.sf.records[0].stored_offset);
  REQUIRE(a.sf.records[0].stored_size == b.sf.records[0].stored_size);
  SnapFile s = a.sf;
  const Bytes theirs = b.sf.stored(0);
  std::copy(theirs.begin(), theirs.end(), s.data.begin() + static_cast<std::ptrdiff_t>(s.records[0].stored_offset - 4096));
  s.records[0] = b.sf.records[0];
  return s;
}

// A's file with B's seal block: a valid tag over another header and trailer.
inline SnapFile with_seal_of(const SealedFile& a, const SealedFile& b) {
  SnapFile u = a.sf;
  u.seal = b.sf.seal;
  return u;
}

inline vramsnap::Status open_verify(const std::string& path, const vramsnap::VerifyOptions& opt) {
  auto s = vramsnap::Snapshot::open(path);
  if (!s.ok()) return std::move(s).error();
  auto v = vramsnap::verify(*s, opt);
  if (!v.ok()) return std::move(v).error();
  return {};
}

inline vramsnap::Status open_restore(const std::string& path, const vramsnap::RestoreOptions& opt) {
  auto s = vramsnap::Snapshot::open(path);
  if (!s.ok()) return std::move(s).error();
  auto r = vramsnap::restore(*s, opt);
  if (!r.ok()) return std::move(r).error();
  return {};
}

// The class of error a single flipped bit at `off` must produce (spec
// section 12, "Consequences worth knowing"): integrity for the table,
// manifest, chunk bytes, chunk padding, key id and the seal's tag (tag_size
// bytes: 32 for HMAC, 64 for Ed25519); format for the header, the trailer,
// the other seal block fields, and the header and seal padding, which are
// checked structurally before the seal.
inline ErrorKind expected_kind(const Offsets& o, uint64_t off, uint64_t tag_size) {
  if (off < 4096) return ErrorKind::Format;
  if (off < o.manifest_end) return ErrorKind::Integrity;  // data area, table, manifest
  if (off < o.seal) return ErrorKind::Format;              // padding before the seal block
  if (off < o.seal + 128) {
    const uint64_t rel = off - o.seal;
    if ((rel >= 16 && rel < 24) || (rel >= 32 && rel < 32 + tag_size)) return ErrorKind::Integrity;  // key id, tag
    return ErrorKind::Format;
  }
  return ErrorKind::Format;  // trailer
}

inline const char* structure_at(const Offsets& o, uint64_t off) {
  if (off < 64) return "header";
  if (off < 4096) return "header padding";
  if (off < o.table) return "chunk data";
  if (off < o.manifest) return "table";
  if (off < o.manifest_end) return "manifest";
  if (off < o.seal) return "seal padding";
  if (off < o.trailer) return "seal block";
  return "trailer";
}

// Flips one bit at every offset of f (bit off % 8), and every bit of the
// header, table, seal block and trailer, in a copy written next to f, and
// checks that `check` refuses each with expected_kind. The copy is restored
// after each flip and compared with the original at the end.
inline void check_every_bit_flip(const SealedFile& f, uint64_t tag_size,
                                 const std::function<vramsnap::Status(const std::string&)>& check) {
  const std::string p = f.write(f.bytes, "flip.snap");
  int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  size_t passed = 0, wrong_kind = 0, flips = 0;
  auto try_flip = [&](uint64_t off, unsigned bit) {
    const uint8_t orig = f.bytes[off];
    const uint8_t x = static_cast<uint8_t>(orig ^ (1u << bit));
    REQUIRE(::pwrite(fd, &x, 1, static_cast<off_t>(off)) == 1);
    auto st = check(p);
    REQUIRE(::pwrite(fd, &orig, 1, static_cast<off_t>(off)) == 1);
    ++flips;
    if (st.ok()) {
      if (++passed <= 10) FAIL_CHECK("bit " << bit << " at offset " << off << " (" << structure_at(f.o, off) << ") verified");
      return;
    }
    const ErrorKind want = expected_kind(f.o, off, tag_size);
    if (st.error().kind() != want && ++wrong_kind <= 10)
      FAIL_CHECK("bit " << bit << " at offset " << off << " (" << structure_at(f.o, off) << "): expected "
                        << vramsnap::to_string(want) << ", got " << vramsnap::to_string(st.error().kind()) << ": "
                        << st.error().message());
  };
  for (uint64_t off = 0; off < f.bytes.size(); ++off) try_flip(off, static_cast<unsigned>(off % 8));
  // Every bit of the small structures.
  for (unsigned bit = 0; bit < 8; ++bit) {
    for (uint64_t off = 0; off < 64; ++off) try_flip(off, bit);
    for (uint64_t off = f.o.table; off < f.o.manifest; ++off) try_flip(off, bit);
    for (uint64_t off = f.o.seal; off < f.o.size; ++off) try_flip(off, bit);
  }
  ::close(fd);
  CHECK(passed == 0);
  CHECK(wrong_kind == 0);
  MESSAGE(flips << " single-bit flips of a " << f.bytes.size() << "-byte snapshot, all refused");
  CHECK(read_file(p) == f.bytes);  // the file is intact again
}

}  // namespace vtest
