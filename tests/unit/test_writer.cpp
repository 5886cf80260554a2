// The writer against the golden files: capturing a golden's regions again,
// with the options it was written with, must give the same bytes, except the
// snapshot id, the creation time, the tool version and what covers them (the
// header check, the manifest hash, the trailer check, the seal tag). The
// seal of a golden, recomputed through the seal registry, must match its
// seal block byte for byte. Also the writer's progress and option checks.
#include "test_support.h"

#include "format/binary.h"
#include "format/seal.h"
#include "format/snapshot_data.h"
#include "pipeline/progress.h"

#include <mutex>

namespace {

using namespace vtest;

std::string golden(const std::string& name) { return std::string(VRAMSNAP_SOURCE_DIR) + "/tests/golden/" + name; }

vramsnap::Key golden_key() {
  const Bytes k = read_file(golden("golden.key"));
  auto key = vramsnap::Key::from_bytes(k.data(), k.size());
  REQUIRE(key.ok());
  return *key;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  REQUIRE(!from.empty());
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// Captures `name`'s regions again (restored into host memory) and compares.
void recapture_matches(const std::string& name, const vramsnap::Key* key, unsigned threads) {
  CAPTURE(name);
  CAPTURE(threads);
  auto snap = vramsnap::Snapshot::open(golden(name));
  REQUIRE(snap.ok());
  vramsnap::RestoreOptions ro;
  ro.allow_unsealed = true;
  auto restored = vramsnap::restore(*snap, ro);
  REQUIRE(restored.ok());

  std::vector<vramsnap::RegionInput> inputs;
  for (const auto& meta : snap->regions()) {
    const auto* rr = restored->find(meta.name);
    REQUIRE(rr != nullptr);
    inputs.push_back(vramsnap::RegionInput::from_host(meta, rr->host));
  }
  const auto& m = snap->meta();
  vramsnap::CaptureOptions opt;
  opt.chunk_size = m.chunk_size;
  opt.pack_below = 0;  // written before packed regions (format 1.3)
  // The goldens are format 1.0 files: flat chunk hashes.
  opt.chunk_hash = m.chunk_hash == "sha256" ? vramsnap::ChunkHash::Sha256 : vramsnap::ChunkHash::LeafSha256;
  opt.generation = m.generation;
  opt.labels = m.labels;
  opt.source = m.source;
  opt.key = key;
  opt.threads = threads;
  // The goldens predate planes: their auto chose shuffle for float regions,
  // which asking for shuffle reproduces (other regions fall back as auto did).
  opt.codec = vramsnap::CodecChoice::Shuffle;
  TempDir dir("writer");
  const std::string out = dir / "again.snap";
  auto sum = vramsnap::capture(out, inputs, opt);
  REQUIRE(sum.ok());

  const Bytes want_bytes = read_file(golden(name));
  const Bytes got_bytes = read_file(out);
  REQUIRE(got_bytes.size() == want_bytes.size());
  const SnapFile want = parse(want_bytes);
  const SnapFile got = parse(got_bytes);
  auto again = vramsnap::Snapshot::open(out);
  REQUIRE(again.ok());

  // Header: all but the snapshot id and the check value; padding too.
  for (size_t i = 0; i < want.head.size(); ++i) {
    const bool id = i >= L::hdr::kSnapshotId && i < L::hdr::kSnapshotId + 16;
    const bool check = i >= L::hdr::kCheck && i < L::kHeaderSize;
    if (!id && !check && want.head[i] != got.head[i]) FAIL("header byte " << i << " differs");
  }
  // Chunk data and table: identical.
  CHECK(got.data == want.data);
  CHECK(encode_table(got.records) == encode_table(want.records));
  // Manifest: identical once id, creation time and tool are the new ones.
  std::string expected = want.manifest;
  replace_all(expected, snap->meta().id_hex, again->meta().id_hex);
  replace_all(expected, "\"" + snap->meta().created + "\"", "\"" + again->meta().created + "\"");
  replace_all(expected, "\"" + snap->meta().tool + "\"", "\"" + again->meta().tool + "\"");
  CHECK(got.manifest == expected);
  // Seal block: all but the tag of a sealed file.
  const size_t seal_fixed = key ? L::seal::kTag : L::kSealSize;
  CHECK(std::equal(got.seal.begin(), got.seal.begin() + seal_fixed, want.seal.begin()));
  // Trailer: layout fields and the table hash; not the manifest hash or check.
  for (size_t i = 0; i < L::kTrailerSize; ++i) {
    const bool mhash = i >= L::trl::kManifestHash && i < L::trl::kManifestHash + 32;
    const bool check = i >= L::trl::kCheck && i < L::trl::kMagic;
    if (!mhash && !check && want.trailer[i] != got.trailer[i]) FAIL("trailer byte " << i << " differs");
  }
  // The summary agrees with the file.
  CHECK(sum->file_size == got_bytes.size());
  CHECK(sum->seal.state == again->seal().state);
  CHECK(sum->seal.algorithm == again->seal().algorithm);
  for (size_t r = 0; r < sum->regions.size(); ++r) {
    const auto& rs = sum->regions[r];
    REQUIRE(rs.codec_chunks.size() == 6);
    uint64_t counted = 0;
    for (const auto& c : again->region_chunks(r)) {
      ++counted;
      CHECK(rs.codec_chunks[static_cast<size_t>(c.codec)] > 0);
    }
    CHECK(rs.chunks == counted);
  }
}

}  // namespace

TEST_CASE("capture reproduces the golden files' layout, data, table and manifest") {
  const auto key = golden_key();
  for (unsigned threads : {1u, 3u}) {
    recapture_matches("v1-codecs.snap", nullptr, threads);
    recapture_matches("v1-empty-region.snap", nullptr, threads);
    recapture_matches("v1-sealed.snap", &key, threads);
  }
}

TEST_CASE("the seal registry reproduces the golden seal block") {
  const auto key = golden_key();
  auto snap = vramsnap::Snapshot::open(golden("v1-sealed.snap"));
  REQUIRE(snap.ok());
  const auto& d = vramsnap::SnapshotAccess::data(*snap);
  auto block = L::make_seal(key, d.header_bytes, d.trailer_bytes);
  REQUIRE(block.ok());
  const auto bytes = L::encode_seal(*block);
  const SnapFile want = parse(read_file(golden("v1-sealed.snap")));
  CHECK(std::equal(bytes.begin(), bytes.end(), want.seal.begin()));
  const auto info = L::seal_info(*block);
  CHECK(info.state == vramsnap::SealState::HmacSha256);
  CHECK(info.algorithm == "hmac-sha256");
  CHECK(info.key_id_hex == "fd6dff1174f433ea");
  CHECK(snap->seal().algorithm == "hmac-sha256");
  CHECK(L::check_seal(d, &key, false).ok());
}

TEST_CASE("progress throttle: first report at once, then at most one per interval, and a final one") {
  std::vector<vramsnap::Progress> seen;
  vramsnap::ProgressFn fn = [&](const vramsnap::Progress& p) { seen.push_back(p); };
  vramsnap::pipeline::ProgressThrottle t(fn, 100);
  t.add(10);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].bytes_done == 10);
  CHECK(seen[0].bytes_total == 100);
  for (int i = 0; i < 5; ++i) t.add(10);  // well inside one interval
  CHECK(seen.size() == 1);
  CHECK(t.done() == 60);
  t.finish();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].bytes_done == 60);

  vramsnap::ProgressFn none;
  vramsnap::pipeline::ProgressThrottle quiet(none, 5);
  quiet.add(5);
  quiet.finish();
  CHECK(quiet.done() == 5);
}

TEST_CASE("capture: progress ends at the total, and a codec choice outside the registry is refused") {
  TempDir dir("writer");
  const Bytes data = bf16_like(300 * KiB);
  vramsnap::RegionMeta meta;
  meta.name = "w";
  meta.size = data.size();
  meta.dtype = "bf16";
  std::vector<vramsnap::RegionInput> in{vramsnap::RegionInput::from_host(meta, data.data())};
  vramsnap::CaptureOptions opt;
  opt.chunk_size = 64 * KiB;
  opt.threads = 2;
  std::vector<vramsnap::Progress> seen;
  std::mutex mu;
  opt.progress = [&](const vramsnap::Progress& p) {
    std::lock_guard lk(mu);
    seen.push_back(p);
  };
  auto sum = vramsnap::capture(dir / "a.snap", in, opt);
  REQUIRE(sum.ok());
  REQUIRE(!seen.empty());
  CHECK(seen.back().bytes_done == data.size());
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].bytes_done >= seen[i - 1].bytes_done);
  // bf16 under auto: planes, which stores within 2% of shuffle here.
  CHECK(sum->regions.at(0).codec_chunks.at(size_t(vramsnap::Codec::Planes)) == 5);

  for (int bad : {0 /* auto */, 6, 99, -3}) {
    opt.codec = static_cast<vramsnap::CodecChoice>(bad);
    opt.progress = nullptr;
    opt.overwrite = true;
    auto r = vramsnap::capture(dir / "b.snap", in, opt);
    if (bad == 0) {
      CHECK(r.ok());
      continue;
    }
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
    CHECK(contains(r.error().message(), "names no codec a writer can use"));
  }
}
