// The I/O seams: the Source seam: the file source's contract (whole extents, pieces in
// order, identity), an in-memory source and a fault-injecting wrapper
// composed under Snapshot::open, verify and restore; and the engine's rule
// that the lowest failing chunk is the one reported, whoever found it.
#include "test_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>

#include <fmt/format.h>

#include "io/faulty_source.h"
#include "io/file.h"
#include "io/staging_dir.h"
#include "pipeline/engine.h"

using namespace vtest;
using vramsnap::Snapshot;
using vramsnap::Source;
using vramsnap::io::FaultySource;
using vramsnap::io::SourceFault;

namespace {

// A snapshot held in memory, counting reads: what a remote source looks like
// to the reader, without a network.
class MemorySource final : public Source {
 public:
  explicit MemorySource(Bytes b) : bytes_(std::move(b)) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return bytes_.size(); }
  std::string identity() const override { return "memory:" + hex(sha256(bytes_)); }
  vramsnap::Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts,
                         const PieceFn& on_piece) const override {
    {
      std::lock_guard lk(mu_);
      ++reads_;
      uint64_t n = 0;
      for (const auto& p : parts) n += p.size();
      extents_.push_back({offset, n});
    }
    for (const auto& p : parts) {
      if (offset > bytes_.size() || p.size() > bytes_.size() - offset)
        return vramsnap::Error(ErrorKind::Format, "memory: truncated");
      std::copy_n(bytes_.begin() + static_cast<long>(offset), p.size(), p.begin());
      offset += p.size();
      if (on_piece) VRAMSNAP_TRY(on_piece(p));
    }
    return {};
  }
  uint64_t reads() const { std::lock_guard lk(mu_); return reads_; }
  std::vector<std::pair<uint64_t, uint64_t>> extents() const { std::lock_guard lk(mu_); return extents_; }

 private:
  Bytes bytes_;
  std::string name_ = "memory:test.snap";
  mutable std::mutex mu_;
  mutable uint64_t reads_ = 0;
  mutable std::vector<std::pair<uint64_t, uint64_t>> extents_;
};

std::vector<RegionData> sample_regions() {
  return {region("w", bf16_like(5 * 65536 + 7, 3), "bf16"), region("raw", random_bytes(70000, 4), "u8"),
          region("z", Bytes(2 * 65536, 0), "u8"), region("t", text_like(30000), "u8")};
}

}  // namespace

TEST_CASE("source: the file source reads extents in order, in pieces, and names the file") {
  TempDir dir("src");
  const Bytes data = random_bytes(700 * 1024 + 5, 9);
  write_file(dir / "f.bin", data);
  auto src = vramsnap::open_file_source(dir / "f.bin");
  REQUIRE(src.ok());
  CHECK((*src)->size() == data.size());
  CHECK((*src)->name() == dir / "f.bin");
  CHECK(contains((*src)->identity(), "file:"));

  Bytes a(600 * 1024), b(100 * 1024);
  const std::span<uint8_t> parts[2] = {a, b};
  uint64_t seen = 0;
  size_t pieces = 0;
  auto st = (*src)->readv(3, parts, [&](std::span<const uint8_t> piece) -> vramsnap::Status {
    // Pieces arrive in order, cover the parts exactly, and are already filled.
    CHECK(std::equal(piece.begin(), piece.end(), data.begin() + static_cast<long>(3 + seen)));
    seen += piece.size();
    ++pieces;
    return {};
  });
  REQUIRE(st.ok());
  CHECK(seen == a.size() + b.size());
  CHECK(pieces >= 3);  // hashed while in cache: never one 700 KiB piece
  CHECK(std::equal(a.begin(), a.end(), data.begin() + 3));
  CHECK(std::equal(b.begin(), b.end(), data.begin() + 3 + static_cast<long>(a.size())));

  // A piece callback's error stops the read and comes back.
  auto stop = (*src)->read(0, a, [](std::span<const uint8_t>) -> vramsnap::Status {
    return vramsnap::Error(ErrorKind::Interrupted, "stop here");
  });
  VT_CHECK_ERROR(stop, ErrorKind::Interrupted, "stop here");

  Bytes past(10);
  VT_CHECK_ERROR((*src)->read(data.size() - 5, past), ErrorKind::Format, "truncated");
}

TEST_CASE("source: identity changes when the file does") {
  TempDir dir("src");
  write_file(dir / "f.bin", std::string_view("one"));
  auto a = vramsnap::open_file_source(dir / "f.bin");
  REQUIRE(a.ok());
  const std::string before = (*a)->identity();
  auto again = vramsnap::open_file_source(dir / "f.bin");
  CHECK((*again)->identity() == before);
  write_file(dir / "f.bin", std::string_view("other!"));
  auto b = vramsnap::open_file_source(dir / "f.bin");
  CHECK((*b)->identity() != before);
}

TEST_CASE("source: open makes three reads, and every chunk is one extent read") {
  TempDir dir("src");
  const auto regions = sample_regions();
  const Bytes file = make_snapshot(dir / "s.snap", regions);
  auto mem = std::make_shared<MemorySource>(file);
  auto snap = Snapshot::open(mem);
  REQUIRE_MESSAGE(snap.ok(), message_of(snap));
  CHECK(mem->reads() == 3);
  CHECK(snap->path() == "memory:test.snap");
  CHECK(&snap->source() == mem.get());

  const auto from_file = open_ok(dir / "s.snap");
  CHECK(snap->chunks().size() == from_file.chunks().size());

  auto rep = vramsnap::verify(*snap, unsealed_verify(true));
  REQUIRE_MESSAGE(rep.ok(), message_of(rep));
  uint64_t stored_chunks = 0;
  for (const auto& c : snap->chunks()) stored_chunks += c.codec != vramsnap::Codec::Zero;
  CHECK(mem->reads() == 3 + stored_chunks);
  // Each chunk read covers its stored bytes and padding: one request each.
  const auto ext = mem->extents();
  for (size_t k = 3; k < ext.size(); ++k) CHECK(ext[k].second % 4096 == 0);

  auto restored = vramsnap::restore(*snap, unsealed_restore());
  REQUIRE_MESSAGE(restored.ok(), message_of(restored));
  for (size_t r = 0; r < regions.size(); ++r) {
    const auto* rr = restored->find(regions[r].meta.name);
    REQUIRE(rr != nullptr);
    CHECK(std::memcmp(rr->host, regions[r].bytes.data(), regions[r].bytes.size()) == 0);
  }
}

TEST_CASE("source: a failing read anywhere is an I/O error, never corruption") {
  TempDir dir("src");
  make_snapshot(dir / "s.snap", sample_regions());
  auto file = vramsnap::open_file_source(dir / "s.snap");
  REQUIRE(file.ok());
  for (uint64_t n = 1; n <= 12; ++n) {
    CAPTURE(n);
    auto faulty = std::make_shared<FaultySource>(*file, SourceFault{SourceFault::Kind::FailRead, n, EIO, 0});
    auto snap = Snapshot::open(faulty);
    if (!snap.ok()) {
      CHECK(n <= 3);
      VT_CHECK_ERROR(snap, ErrorKind::IO, "Input/output error");
      continue;
    }
    auto rep = vramsnap::verify(*snap, unsealed_verify(true));
    VT_CHECK_ERROR(rep, ErrorKind::IO, "Input/output error");
    auto restored = vramsnap::restore(*snap, unsealed_restore());
    // The restore makes its own reads: the counter has moved past n.
    CHECK(restored.ok());
  }
}

TEST_CASE("source: a source returning wrong bytes is caught by the hash, at the right chunk") {
  TempDir dir("src");
  make_snapshot(dir / "s.snap", sample_regions());
  auto file = vramsnap::open_file_source(dir / "s.snap");
  REQUIRE(file.ok());
  const auto clean = open_ok(dir / "s.snap");
  for (size_t i = 0; i < clean.chunks().size(); ++i) {
    const auto& c = clean.chunks()[i];
    if (c.codec == vramsnap::Codec::Zero) continue;
    CAPTURE(i);
    for (uint64_t at : {c.stored_offset, c.stored_offset + c.stored_size - 1}) {
      auto faulty = std::make_shared<FaultySource>(*file, SourceFault{SourceFault::Kind::FlipByte, 0, 0, at});
      auto snap = Snapshot::open(faulty);
      REQUIRE(snap.ok());
      auto rep = vramsnap::verify(*snap, unsealed_verify(false));
      VT_CHECK_ERROR(rep, ErrorKind::Integrity, fmt::format("chunk {} ", i));
      auto restored = vramsnap::restore(*snap, unsealed_restore());
      VT_CHECK_ERROR(restored, ErrorKind::Integrity, "SHA-256 mismatch");
    }
  }
  // A flipped padding byte is caught as well.
  const auto& c0 = clean.chunks()[0];
  if (c0.stored_size % 4096) {
    auto faulty = std::make_shared<FaultySource>(*file, SourceFault{SourceFault::Kind::FlipByte, 0, 0,
                                                                    c0.stored_offset + c0.stored_size});
    auto snap = Snapshot::open(faulty);
    REQUIRE(snap.ok());
    VT_CHECK_ERROR(vramsnap::verify(*snap, unsealed_verify(false)), ErrorKind::Integrity, "padding");
  }
}

TEST_CASE("engine: the lowest failing chunk is reported, whoever found it") {
  using vramsnap::pipeline::ChunkFailure;
  using vramsnap::pipeline::lowest_failure;
  auto err = [](const char* m) { return vramsnap::Error(ErrorKind::Integrity, m); };
  CHECK(!lowest_failure(std::nullopt, {}).has_value());
  auto a = lowest_failure(ChunkFailure{7, err("engine")}, {});
  REQUIRE(a);
  CHECK(a->chunk == 7);
  std::vector<ChunkFailure> deferred;
  deferred.push_back({9, err("device 9")});
  deferred.push_back({3, err("device 3")});
  auto b = lowest_failure(ChunkFailure{7, err("engine")}, std::move(deferred));
  REQUIRE(b);
  CHECK(b->chunk == 3);
  CHECK(b->error.message() == "device 3");
  std::vector<ChunkFailure> later;
  later.push_back({12, err("device 12")});
  auto c = lowest_failure(ChunkFailure{7, err("engine")}, std::move(later));
  CHECK(c->chunk == 7);
}

// ---- StagingDir and rename_noreplace ----

TEST_CASE("io: a staging directory shows its files all at once, or leaves nothing") {
  TempDir dir("stage");
  const std::string out = dir / "out";
  {
    auto st = vramsnap::io::StagingDir::create(out, "test");
    REQUIRE(st.ok());
    auto a = st->add_file("a", 10);
    auto b = st->add_file("b", 0);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(st->write_at(*a, as_bytes("hello"), 5).ok());
    CHECK(list_dir(out).size() == 1);  // only the hidden staging directory
    REQUIRE(st->commit().ok());
  }
  auto names = list_dir(out);
  CHECK(names == std::vector<std::string>{"a", "b"});
  const Bytes a = read_file(out + "/a");
  CHECK(a == Bytes{0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'});

  // Not committed: nothing left behind, and DIR itself stays.
  {
    auto st = vramsnap::io::StagingDir::create(out, "test");
    REQUIRE(st.ok());
    REQUIRE(st->add_file("c", 3).ok());
  }
  CHECK(list_dir(out) == std::vector<std::string>{"a", "b"});

  // Names already in DIR, a dangling symlink included, are refused.
  REQUIRE(::symlink("/nonexistent", (out + "/link").c_str()) == 0);
  auto st = vramsnap::io::StagingDir::create(out, "test");
  REQUIRE(st.ok());
  VT_CHECK_ERROR(st->check_absent("a"), ErrorKind::IO, "exists");
  VT_CHECK_ERROR(st->check_absent("link"), ErrorKind::IO, "exists");
  CHECK(st->check_absent("new").ok());
  // A name that appears in DIR between check and commit is not replaced.
  REQUIRE(st->add_file("a", 1).ok());
  VT_CHECK_ERROR(st->commit(), ErrorKind::IO, "exists");
  CHECK(read_file(out + "/a").size() == 10);
}

TEST_CASE("io: rename_noreplace moves, or reports an existing name without touching it") {
  TempDir dir("ren");
  write_file(dir / "x", std::string_view("x"));
  write_file(dir / "y", std::string_view("y"));
  auto r = vramsnap::io::rename_noreplace(AT_FDCWD, dir / "x", AT_FDCWD, dir / "y", "y");
  REQUIRE(r.ok());
  CHECK(*r == false);
  CHECK(read_file(dir / "y") == Bytes{'y'});
  auto m = vramsnap::io::rename_noreplace(AT_FDCWD, dir / "x", AT_FDCWD, dir / "z", "z");
  REQUIRE(m.ok());
  CHECK(*m == true);
  CHECK(!path_exists(dir / "x"));
  CHECK(read_file(dir / "z") == Bytes{'x'});
}
