// Binding a blob to a pinned digest (remote/pinned_source.h) without a
// network: the index digest of a snapshot's two ends, a source that serves
// another snapshot or changes its bytes after the check, and the whole-blob
// pass for manifests that name no index digest, and its progress reports.
// The registry end to end is
// tests/cli/remote_oci.sh.
#include "test_support.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "io/faulty_source.h"
#include "remote/pinned_source.h"

using namespace vtest;
using vramsnap::Source;
using vramsnap::remote::IndexBytes;
using vramsnap::remote::kIndexHead;
using vramsnap::remote::kIndexTail;
using vramsnap::remote::pin_blob;
using vramsnap::remote::pin_index;

namespace {

// A blob held in memory; from read `change_after` on, the byte at
// `change_at` comes back inverted (a server that answers the check honestly
// and later reads with other bytes).
class BlobSource final : public Source {
 public:
  explicit BlobSource(Bytes b, uint64_t change_after = UINT64_MAX, uint64_t change_at = 0)
      : bytes_(std::move(b)), change_after_(change_after), change_at_(change_at) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return bytes_.size(); }
  std::string identity() const override { return "memory"; }
  vramsnap::Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts,
                         const PieceFn& on_piece) const override {
    const bool changed = reads_.fetch_add(1) + 1 >= change_after_;
    for (const auto& p : parts) {
      if (offset > bytes_.size() || p.size() > bytes_.size() - offset)
        return vramsnap::Error(ErrorKind::Format, "memory: truncated");
      std::copy_n(bytes_.begin() + static_cast<long>(offset), p.size(), p.begin());
      if (changed && change_at_ >= offset && change_at_ - offset < p.size()) p[change_at_ - offset] ^= 0xFF;
      offset += p.size();
      if (on_piece) VRAMSNAP_TRY(on_piece(p));
    }
    return {};
  }
  uint64_t reads() const { return reads_.load(); }

 private:
  Bytes bytes_;
  std::string name_ = "oci://registry.test/models/m@sha256:pinned";
  uint64_t change_after_, change_at_;
  mutable std::atomic<uint64_t> reads_{0};
};

// A blob that arrives in `pieces` pieces per read, `gap` apart: a slow
// server, for the pass's progress reports.
class SlowSource final : public Source {
 public:
  SlowSource(Bytes b, unsigned pieces, std::chrono::milliseconds gap)
      : bytes_(std::move(b)), pieces_(pieces), gap_(gap) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return bytes_.size(); }
  std::string identity() const override { return "slow"; }
  vramsnap::Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts,
                         const PieceFn& on_piece) const override {
    for (const auto& p : parts) {
      REQUIRE(offset + p.size() <= bytes_.size());
      std::copy_n(bytes_.begin() + static_cast<long>(offset), p.size(), p.begin());
      const size_t step = (p.size() + pieces_ - 1) / pieces_;
      for (size_t at = 0; at < p.size(); at += step) {
        std::this_thread::sleep_for(gap_);
        if (on_piece) VRAMSNAP_TRY(on_piece(p.subspan(at, std::min(step, p.size() - at))));
      }
      offset += p.size();
    }
    return {};
  }

 private:
  Bytes bytes_;
  unsigned pieces_;
  std::chrono::milliseconds gap_;
  std::string name_ = "oci://registry.test/models/m@sha256:slow";
};

std::string index_of(const Bytes& f) {
  Bytes ends(f.begin(), f.begin() + kIndexHead);
  ends.insert(ends.end(), f.end() - kIndexTail, f.end());
  return "sha256:" + hex(sha256(ends));
}

std::string digest_of(const Bytes& f) { return "sha256:" + hex(sha256(f)); }

// Two unsealed snapshots of the same shape: either is self-consistent, so
// only the pin tells them apart.
struct Pair {
  TempDir dir{"pin"};
  Bytes a = make_snapshot(dir / "a.snap", {region("w", random_bytes(200000, 1)), region("z", Bytes(70000, 0))});
  Bytes b = make_snapshot(dir / "b.snap", {region("w", random_bytes(200000, 2)), region("z", Bytes(70000, 0))});
};

}  // namespace

TEST_CASE("index digest: SHA-256 of the header page and the seal block with the trailer, from any pieces") {
  Pair p;
  const Bytes& f = p.a;
  REQUIRE(f.size() > kIndexHead + kIndexTail);
  IndexBytes whole(f.size());
  whole.take(0, f);
  CHECK(whole.digest() == index_of(f));
  // Odd pieces that straddle both ends give the same bytes.
  IndexBytes pieces(f.size());
  for (uint64_t at = 0; at < f.size(); at += 1000)
    pieces.take(at, std::span<const uint8_t>(f).subspan(at, std::min<uint64_t>(1000, f.size() - at)));
  CHECK(pieces.digest() == whole.digest());
  CHECK(whole.first_mismatch(0, f) == -1);
  Bytes g = flip_bit(f, f.size() - 5);
  CHECK(whole.first_mismatch(0, g) == static_cast<int64_t>(f.size() - 5));
  // Chunk data lies between the ends: not part of the digest.
  CHECK(whole.first_mismatch(kIndexHead, std::span<const uint8_t>(g).subspan(kIndexHead, 100)) == -1);
  CHECK(index_of(p.a) != index_of(p.b));
}

TEST_CASE("pin_index: the pinned snapshot opens, verifies and restores, its ends read once") {
  Pair p;
  auto inner = std::make_shared<BlobSource>(p.a);
  auto pinned = pin_index(inner, index_of(p.a));
  REQUIRE(pinned.ok());
  CHECK(inner->reads() == 2);
  auto snap = vramsnap::Snapshot::open(*pinned);
  REQUIRE(snap.ok());
  // The reader's header and tail reads were answered from the checked bytes:
  // only the table and manifest went to the server.
  CHECK(inner->reads() == 3);
  CHECK(vramsnap::verify(*snap, unsealed_verify()).ok());
  CHECK(vramsnap::restore(*snap, unsealed_restore()).ok());
}

TEST_CASE("pin_index: another self-consistent snapshot under the pinned digest is an integrity error") {
  Pair p;
  auto swapped = pin_index(std::make_shared<BlobSource>(p.b), index_of(p.a));
  REQUIRE(!swapped.ok());
  CHECK(swapped.error().kind() == ErrorKind::Integrity);
  CHECK(contains(swapped.error().message(), index_of(p.a)));
  CHECK(contains(swapped.error().message(), index_of(p.b)));
  CHECK(contains(swapped.error().message(), "org.vramsnap.index.digest"));
  // One flipped bit in either end.
  for (uint64_t at : {uint64_t{40}, uint64_t{2000}, p.a.size() - 200, p.a.size() - 1}) {
    auto r = pin_index(std::make_shared<BlobSource>(flip_bit(p.a, at)), index_of(p.a));
    CHECK_MESSAGE(!r.ok(), at);
    if (!r.ok()) CHECK(r.error().kind() == ErrorKind::Integrity);
  }
  auto tiny = pin_index(std::make_shared<BlobSource>(Bytes(kIndexHead + kIndexTail - 1, 0)), index_of(p.a));
  REQUIRE(!tiny.ok());
  CHECK(tiny.error().kind() == ErrorKind::Format);
}

TEST_CASE("pinned source: bytes of the checked ends that change later are refused, the rest passes through") {
  Pair p;
  const uint64_t S = p.a.size();
  // Honest for the two reads of the check, then one tail byte differs.
  auto pinned = pin_index(std::make_shared<BlobSource>(p.a, 3, S - 100), index_of(p.a));
  REQUIRE(pinned.ok());
  const Source& src = **pinned;
  Bytes buf(600);
  // Wholly inside the tail: the checked bytes, whatever the server says now.
  REQUIRE(src.read(S - 288, std::span<uint8_t>(buf).first(288)).ok());
  CHECK(std::equal(buf.begin(), buf.begin() + 288, p.a.end() - 288));
  // Straddling the tail: the server's bytes, held to the checked ones.
  auto straddle = src.read(S - 600, buf);
  REQUIRE(!straddle.ok());
  CHECK(straddle.error().kind() == ErrorKind::Integrity);
  CHECK(contains(straddle.error().message(), std::to_string(S - 100)));
  // Between the ends: passed through with its pieces.
  uint64_t seen = 0;
  REQUIRE(src.read(kIndexHead, std::span<uint8_t>(buf).first(500), [&](std::span<const uint8_t> piece) {
               seen += piece.size();
               return vramsnap::Status{};
             }).ok());
  CHECK(seen == 500);
  CHECK(std::equal(buf.begin(), buf.begin() + 500, p.a.begin() + kIndexHead));
}

TEST_CASE("pin_blob: a manifest with no index digest binds the blob by one pass over it") {
  Pair p;
  auto inner = std::make_shared<BlobSource>(p.a);
  auto pinned = pin_blob(inner, digest_of(p.a));
  REQUIRE(pinned.ok());
  const uint64_t pass = inner->reads();
  CHECK(pass >= 1);
  auto snap = vramsnap::Snapshot::open(*pinned);
  REQUIRE(snap.ok());
  CHECK(inner->reads() == pass + 1);  // table and manifest; the ends came from the pass
  CHECK(vramsnap::verify(*snap, unsealed_verify()).ok());

  auto swapped = pin_blob(std::make_shared<BlobSource>(p.b), digest_of(p.a));
  REQUIRE(!swapped.ok());
  CHECK(swapped.error().kind() == ErrorKind::Integrity);
  CHECK(contains(swapped.error().message(), digest_of(p.a)));
  CHECK(contains(swapped.error().message(), digest_of(p.b)));
  // A byte in the middle of the chunk data counts too.
  auto flipped = pin_blob(std::make_shared<BlobSource>(flip_bit(p.a, 6000)), digest_of(p.a));
  REQUIRE(!flipped.ok());
  CHECK(flipped.error().kind() == ErrorKind::Integrity);
  // A read failure during the pass is the server's, not the snapshot's.
  auto failing = std::make_shared<vramsnap::io::FaultySource>(
      std::make_shared<BlobSource>(p.a), vramsnap::io::SourceFault{vramsnap::io::SourceFault::Kind::FailRead, 1});
  auto io = pin_blob(failing, digest_of(p.a));
  REQUIRE(!io.ok());
  CHECK(io.error().kind() == ErrorKind::IO);
}

TEST_CASE("pin_blob: the pass reports the bytes hashed, rising, at most every 50 ms, and once when all are") {
  Pair p;
  const uint64_t S = p.a.size();
  std::vector<vramsnap::Progress> seen;
  auto record = [&](const vramsnap::Progress& pr) { seen.push_back(pr); };
  // Eight pieces 30 ms apart: about four reports on the way, then the last.
  auto pinned = pin_blob(std::make_shared<SlowSource>(p.a, 8, std::chrono::milliseconds(30)), digest_of(p.a), record);
  REQUIRE(pinned.ok());
  REQUIRE(seen.size() >= 2);
  CHECK(seen.size() <= 8);
  for (size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].bytes_total == S);
    if (i) CHECK(seen[i].bytes_done > seen[i - 1].bytes_done);
  }
  CHECK(seen.front().bytes_done < S);
  CHECK(seen.back().bytes_done == S);

  // A fast pass reports once, at the end; a pass that fails, not at the end.
  seen.clear();
  REQUIRE(pin_blob(std::make_shared<BlobSource>(p.a), digest_of(p.a), record).ok());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].bytes_done == S);
  seen.clear();
  auto failing = std::make_shared<vramsnap::io::FaultySource>(
      std::make_shared<BlobSource>(p.a), vramsnap::io::SourceFault{vramsnap::io::SourceFault::Kind::FailRead, 1});
  REQUIRE(!pin_blob(failing, digest_of(p.a), record).ok());
  CHECK(seen.empty());
}
