// The host side of device-decoded restore (backend/device_decode.h): which
// chunks are decoded on the GPU, how a worker's bounded staging area is
// shared by a batch (aligned offsets, full, taken back), the launch's verify
// and decode jobs in one order, the batch run through the kernels' logic on
// the host with decoding gated by the verdicts, failures by kind, and the
// whole flow through the restore engine with a host stand-in for the device
// on the planes golden file, its staging area reused across launches.
#include "test_support.h"
#include "device_standin.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "backend/device_decode.h"
#include "crypto/leaf_hash.h"
#include "pipeline/engine.h"
#include "pipeline/restore_run.h"
#include "pipeline/stages.h"

using namespace vramsnap;
using namespace vramsnap::backend;
namespace k = vramsnap::backend::kernels;
namespace planes = vramsnap::codec::planes;
namespace core = vramsnap::crypto::sha256core;

namespace {

const std::string kGolden = std::string(VRAMSNAP_SOURCE_DIR) + "/tests/golden/v1.4-planes.snap";

ChunkEntry planes_chunk(uint64_t stored, uint64_t raw, uint8_t elem = 2) {
  ChunkEntry c;
  c.codec = Codec::Planes;
  c.elem_size = elem;
  c.raw_size = raw;
  c.stored_size = stored;
  return c;
}

// The decode kernel's grid on the host, gated by `verdicts`.
std::vector<uint32_t> decode_on_host(std::vector<planes::PlanesJob> jobs, uint32_t slices,
                                     const std::vector<uint32_t>& verdicts) {
  std::vector<uint32_t> status(jobs.size(), 0);
  const planes::PlanesBatch b{jobs.data(), static_cast<uint32_t>(jobs.size()), slices, status.data(), verdicts.data()};
  auto st = std::make_unique<planes::SliceState>();
  planes::run_grid_on_host(b, *st);
  return status;
}

// Verify -> gated decode -> failures, as TargetGpu::launch_decode orders it.
std::vector<pipeline::ChunkFailure> run_launch(const SnapshotData& s, const DecodeBatch& batch, const uint8_t* area) {
  const DecodeLaunch l = batch.jobs(reinterpret_cast<uint64_t>(area));
  auto verify = l.verify;
  const auto verdicts = vtest::run_leaf_kernels_on_host(verify, l.leaves);
  const auto status = decode_on_host(l.decode, l.slices, verdicts);
  return failures_from_decode(s, batch.chunks(), verdicts, status, 0);
}

// A golden file as the batch cases use it: parsed, its bytes, and the host
// restore whose bytes the device path must reproduce.
struct Golden {
  explicit Golden(const std::string& path) : snap(Snapshot::open(path)), file(vtest::read_file(path)) {
    REQUIRE(snap.ok());
    RestoreOptions ho;
    ho.allow_unsealed = true;
    host.emplace(restore(*snap, ho));
    REQUIRE(host->ok());
  }
  const SnapshotData& data() const { return SnapshotAccess::data(*snap); }
  const RestoredRegion& region(size_t r) const { return (*host)->regions()[r]; }
  std::vector<uint8_t> stored(const ChunkEntry& c) const {
    return {file.begin() + c.stored_offset, file.begin() + c.stored_offset + c.stored_size};
  }

  Result<Snapshot> snap;
  std::vector<uint8_t> file;
  std::optional<Result<Restored>> host;
};

// `c` recorded with the leaf hash of `bytes` (and their size), so they
// verify: damage that only decoding can find.
ChunkEntry hashed_as(ChunkEntry c, const std::vector<uint8_t>& bytes) {
  c.stored_size = bytes.size();
  const auto d = crypto::leaf_sha256({bytes.data(), bytes.size()});
  std::memcpy(c.hash.data(), d.data(), 32);
  return c;
}

// Chunks cs[i], stored bytes stored[i], staged in one batch to decode into
// to[i], then verified and decoded as one launch.
std::vector<pipeline::ChunkFailure> stage_and_launch(const SnapshotData& s, const std::vector<ChunkEntry>& cs,
                                                     const std::vector<std::vector<uint8_t>>& stored,
                                                     const std::vector<uint8_t*>& to) {
  DecodeBatch b(1 << 20, 8, 64);
  std::vector<uint8_t> area(1 << 20, 0);
  for (size_t i = 0; i < cs.size(); ++i) {
    const auto at = b.place(i, cs[i], reinterpret_cast<uint64_t>(to[i]));
    REQUIRE(at >= 0);
    REQUIRE(stored[i].size() == cs[i].stored_size);
    std::memcpy(area.data() + at, stored[i].data(), cs[i].stored_size);
  }
  return run_launch(s, b, area.data());
}

}  // namespace

TEST_CASE("device decode: only leaf-hashed planes chunks of device regions with a planes element size") {
  const auto c = planes_chunk(100, 200);
  CHECK(decode_on_device(VerifyOn::Auto, true, ChunkHashScheme::Leaf16k, c, RegionKind::Device));
  CHECK(decode_on_device(VerifyOn::Device, true, ChunkHashScheme::Leaf16k, c, RegionKind::Device));
  CHECK_FALSE(decode_on_device(VerifyOn::Host, true, ChunkHashScheme::Leaf16k, c, RegionKind::Device));
  CHECK_FALSE(decode_on_device(VerifyOn::Auto, false, ChunkHashScheme::Leaf16k, c, RegionKind::Device));
  CHECK_FALSE(decode_on_device(VerifyOn::Auto, true, ChunkHashScheme::Flat, c, RegionKind::Device));
  CHECK_FALSE(decode_on_device(VerifyOn::Auto, true, ChunkHashScheme::Leaf16k, c, RegionKind::Other));
  auto odd = c;
  odd.elem_size = 3;
  CHECK_FALSE(decode_on_device(VerifyOn::Auto, true, ChunkHashScheme::Leaf16k, odd, RegionKind::Device));
  auto packed = c;
  packed.packed_regions = 2;
  CHECK_FALSE(decode_on_device(VerifyOn::Auto, true, ChunkHashScheme::Leaf16k, packed, RegionKind::Device));
  auto shuffle = c;
  shuffle.codec = Codec::Shuffle;
  CHECK_FALSE(decode_on_device(VerifyOn::Auto, true, ChunkHashScheme::Leaf16k, shuffle, RegionKind::Device));
  auto palette = c;
  palette.codec = Codec::Palette;
  CHECK(decode_on_device(VerifyOn::Auto, true, ChunkHashScheme::Leaf16k, palette, RegionKind::Device));
}

TEST_CASE("device decode: palette chunks staged, verified and decoded like planes chunks; faults name the codec") {
  const Golden g(std::string(VRAMSNAP_SOURCE_DIR) + "/tests/golden/v1.5-palette.snap");
  const SnapshotData& s = g.data();
  const auto& q = g.region(0);  // q/bf16: palette chunks 0, 1 and 2
  REQUIRE(s.region_ranges[0] == std::pair<size_t, size_t>{0, 3});
  // The three chunks as recorded, then chunk 0 with its first value table
  // entry raised past the second (values out of order) and the hash of
  // those bytes, so it verifies and fails to decode.
  auto bad = g.stored(s.chunks[0]);
  bad[8 + 2 + 1] = 0xff;  // the high byte of value 0 (one group: its table starts at byte 10)
  const std::vector<ChunkEntry> cs = {s.chunks[0], s.chunks[1], s.chunks[2], hashed_as(s.chunks[0], bad)};
  for (const auto& c : cs) REQUIRE(c.codec == Codec::Palette);
  std::vector<uint8_t> dst(2 * q.meta->size, 0xAB);
  const auto failures = stage_and_launch(
      s, cs, {g.stored(cs[0]), g.stored(cs[1]), g.stored(cs[2]), bad},
      {dst.data() + cs[0].region_offset, dst.data() + cs[1].region_offset, dst.data() + cs[2].region_offset,
       dst.data() + q.meta->size + cs[3].region_offset});
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].chunk == 3);
  CHECK(failures[0].error.kind() == ErrorKind::Format);
  CHECK(failures[0].error.message().find("palette chunk: a value table is not strictly increasing") !=
        std::string::npos);
  CHECK(std::memcmp(dst.data(), q.host, q.meta->size) == 0);
}

TEST_CASE("device decode: f16 split chunks staged, verified and decoded like other planes chunks") {
  const Golden g(std::string(VRAMSNAP_SOURCE_DIR) + "/tests/golden/v1.6-f16split.snap");
  const SnapshotData& s = g.data();
  const auto& w = g.region(0);  // w/f16: split chunks 0 and 1
  REQUIRE(s.region_ranges[0] == std::pair<size_t, size_t>{0, 2});
  // Both chunks as recorded, then chunk 0 with block 0's non-zero count one
  // lower and the hash of those bytes, so it verifies and fails to decode.
  auto bad = g.stored(s.chunks[0]);
  REQUIRE(planes::is_split(bad.data(), bad.size()));
  const size_t counts = 16 + planes::load_u32(bad.data() + 8);
  bad[counts] -= 1;
  const std::vector<ChunkEntry> cs = {s.chunks[0], s.chunks[1], hashed_as(s.chunks[0], bad)};
  for (const auto& c : cs) REQUIRE(decode_on_device(VerifyOn::Auto, true, s.chunk_hash, c, RegionKind::Device));
  std::vector<uint8_t> dst(2 * w.meta->size, 0xAB);
  const auto failures =
      stage_and_launch(s, cs, {g.stored(cs[0]), g.stored(cs[1]), bad},
                       {dst.data() + cs[0].region_offset, dst.data() + cs[1].region_offset,
                        dst.data() + w.meta->size + cs[2].region_offset});
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].chunk == 2);
  CHECK(failures[0].error.kind() == ErrorKind::Format);
  CHECK(failures[0].error.message().find("non-zero counts") != std::string::npos);
  CHECK(std::memcmp(dst.data(), w.host, w.meta->size) == 0);
}

TEST_CASE("device decode: the staging area holds the largest chunk, grows to the target, never past the total") {
  CHECK(staging_area_bytes({}, 1 << 20) == 0);
  CHECK(staging_area_bytes({1, 17}, 1 << 20) == 48);       // 16-byte aligned each
  CHECK(staging_area_bytes({100, 5000, 7}, 1024) == 5008);  // the largest, above the target
  CHECK(staging_area_bytes({600, 600, 600}, 1024) == 1024);
}

TEST_CASE("device decode: a batch places chunks at aligned offsets until full; jobs in one order") {
  std::vector<ChunkEntry> cs = {planes_chunk(100, 200), planes_chunk(33, 64, 4), planes_chunk(50, 96, 8),
                                planes_chunk(500, 1000)};
  DecodeBatch b(400, 8, 100);
  CHECK(b.empty());
  CHECK(b.place(0, cs[0], 0x1000) == 0);
  CHECK(b.place(1, cs[1], 0x2000) == 112);
  CHECK_FALSE(b.ready());
  CHECK(b.place(2, cs[2], 0x3000) == 160);  // 160 + 50 rounds to 224 <= 400
  CHECK(b.ready());                        // the area at half
  CHECK(b.place(3, cs[3], 0x4000) == -1);   // larger than the area: never fits
  b.drop_last();
  CHECK(b.place(2, cs[2], 0x3000) == 160);  // its room is free again
  const DecodeLaunch l = b.jobs(0x10000);
  REQUIRE(l.verify.size() == 3);
  REQUIRE(l.decode.size() == 3);
  CHECK(b.chunks() == std::vector<size_t>{0, 1, 2});
  const uint64_t at[3] = {0, 112, 160};
  for (size_t i = 0; i < 3; ++i) {
    CHECK(reinterpret_cast<uint64_t>(l.verify[i].data) == 0x10000 + at[i]);
    CHECK(reinterpret_cast<uint64_t>(l.verify[i].data) % kStageAlign == 0);
    CHECK(l.verify[i].size == cs[i].stored_size);
    CHECK(l.verify[i].first_leaf == i);  // one leaf each
    CHECK(l.decode[i].stored == l.verify[i].data);
    CHECK(l.decode[i].stored_size == cs[i].stored_size);
    CHECK(reinterpret_cast<uint64_t>(l.decode[i].dst) == 0x1000 * (i + 1));
    CHECK(l.decode[i].raw_size == cs[i].raw_size);
    CHECK(l.decode[i].elem_size == cs[i].elem_size);
    CHECK(l.decode[i].first_slice == i);
  }
  CHECK(l.leaves == 3);
  CHECK(l.slices == 3);
  b.clear();
  CHECK(b.empty());
  CHECK(b.place(3, cs[3], 0x4000) == -1);
  CHECK(b.place(0, cs[0], 0x1000) == 0);  // reused from the start

  DecodeBatch few(1 << 20, 2, 100);  // chunk bound
  CHECK(few.place(0, cs[0], 0) == 0);
  CHECK(few.ready());
  CHECK(few.place(1, cs[1], 0) >= 0);
  CHECK(few.place(2, cs[2], 0) == -1);
  ChunkEntry big = planes_chunk(3 * k::kLeafBytes, 6 * k::kLeafBytes);
  DecodeBatch leaves(1 << 20, 8, 4);  // leaf bound
  CHECK(leaves.place(0, big, 0) == 0);
  CHECK(leaves.place(1, big, 0) == -1);
  CHECK(leaves.place(1, cs[0], 0) >= 0);
}

TEST_CASE("device decode: staged bytes verified, decoded only where the hash matched; faults are format errors") {
  const Golden g(kGolden);
  const SnapshotData& s = g.data();
  const auto& w = g.region(0);  // w/bf16: chunks 0 and 1
  REQUIRE(s.region_ranges[0] == std::pair<size_t, size_t>{0, 2});

  // Chunk 0 as recorded; chunk 1 with a flipped stored bit; chunk 1 again
  // truncated by one byte with the hash of what is left, so it verifies and
  // fails to decode.
  auto flipped = g.stored(s.chunks[1]);
  flipped[40] ^= 1;
  auto cut = g.stored(s.chunks[1]);
  cut.pop_back();
  const std::vector<ChunkEntry> cs = {s.chunks[0], s.chunks[1], hashed_as(s.chunks[1], cut)};
  std::vector<uint8_t> dst(3 * w.meta->size, 0xAB);
  std::vector<uint8_t*> to;
  for (size_t i = 0; i < cs.size(); ++i) to.push_back(dst.data() + i * w.meta->size + cs[i].region_offset);
  const auto failures = stage_and_launch(s, cs, {g.stored(cs[0]), flipped, cut}, to);
  REQUIRE(failures.size() == 2);
  CHECK(failures[0].chunk == 1);
  CHECK(failures[0].error.kind() == ErrorKind::Integrity);
  CHECK(failures[0].error.message().find("checked on GPU 0") != std::string::npos);
  CHECK(failures[1].chunk == 2);
  CHECK(failures[1].error.kind() == ErrorKind::Format);
  CHECK(failures[1].error.message().find("planes chunk:") != std::string::npos);
  CHECK(failures[1].error.message().find("decoded on GPU 0") != std::string::npos);
  // Chunk 0 decoded to the host decoder's bytes; the mismatched chunk's
  // destination untouched.
  CHECK(std::memcmp(dst.data(), w.host, cs[0].raw_size) == 0);
  const uint8_t* d1 = dst.data() + w.meta->size + cs[1].region_offset;
  CHECK(std::all_of(d1, d1 + cs[1].raw_size, [](uint8_t v) { return v == 0xAB; }));
}

namespace {

// A sink that decodes on the "device" the way the CUDA sink does, with host
// memory as the device and the kernels' logic run on the host: planes chunks
// of device regions are read unhashed into a small staging area and
// launched whenever it fills or is due; the rest go the host way.
class HostDecodeSink final : public vtest::HostMemorySink {
 public:
  HostDecodeSink(const SnapshotData& s, uint64_t area) : HostMemorySink(s), area_(area, 0), batch_(area, 64, 4096) {}
  bool verifies(size_t i) const override {
    const auto& c = s_.chunks[i];
    return decode_on_device(VerifyOn::Auto, true, s_.chunk_hash, c, s_.regions[c.region].kind);
  }
  Status place_unverified(unsigned, size_t i, pipeline::WorkerClock& clk) override {
    const auto& c = s_.chunks[i];
    const uint64_t to = reinterpret_cast<uint64_t>(dst(i));
    int64_t at = batch_.place(i, c, to);
    if (at < 0) {
      launch();
      at = batch_.place(i, c, to);
    }
    REQUIRE(at >= 0);
    auto st = pipeline::read_unverified(s_, i, 0, {area_.data() + at, c.stored_size}, clk);
    if (!st.ok()) {
      batch_.drop_last();
      return st;
    }
    if (batch_.ready()) launch();
    return {};
  }
  Status finish(PhaseTimes&) override {
    launch();
    return failures_.empty() ? Status{} : Status(Error(ErrorKind::Integrity, "device decode failed"));
  }
  std::vector<pipeline::ChunkFailure> deferred_failures() override {
    launch();
    return failures_;
  }
  int launches = 0;
  uint64_t decoded = 0;

 private:
  void launch() {
    if (batch_.empty()) return;
    for (size_t i : batch_.chunks()) decoded += s_.chunks[i].raw_size;
    for (auto& f : run_launch(s_, batch_, area_.data())) failures_.push_back(std::move(f));
    ++launches;
    batch_.clear();
    std::fill(area_.begin(), area_.end(), 0xCD);  // nothing of a launched batch is read again
  }
  std::vector<uint8_t> area_;
  DecodeBatch batch_;
  std::vector<pipeline::ChunkFailure> failures_;
};

}  // namespace

TEST_CASE("device decode through the engine: planes chunks decoded in place, refused by verdict, area reused") {
  const auto bytes = vtest::read_file(kGolden);
  vtest::TempDir dir("devdecode");
  RestoreOptions opt;
  opt.threads = 1;
  int n = 0;
  auto run = [&](const std::vector<uint8_t>& file, std::vector<std::vector<uint8_t>>& regions, int& launches,
                 uint64_t& decoded) {
    const std::string path = dir / ("s" + std::to_string(n++) + ".snap");
    vtest::write_file(path, file);
    auto snap = Snapshot::open(path);
    REQUIRE(snap.ok());
    const SnapshotData& s = SnapshotAccess::data(*snap);
    std::vector<size_t> all;
    std::vector<uint64_t> staged;
    for (size_t r = 0; r < s.regions.size(); ++r) all.push_back(r);
    for (const auto& c : s.chunks)
      if (c.codec == Codec::Planes && s.regions[c.region].kind == RegionKind::Device) staged.push_back(c.stored_size);
    // The smallest area there can be: one chunk per launch, reused.
    HostDecodeSink sink(s, staging_area_bytes(staged, 1));
    RestoreStats stats;
    Status st = pipeline::run_restore(s, all, opt, sink, stats);
    for (size_t r = 0; r < s.regions.size(); ++r) regions.push_back(sink.region(r));
    launches = sink.launches;
    decoded = sink.decoded;
    return st;
  };
  std::vector<std::vector<uint8_t>> got;
  int launches = 0;
  uint64_t decoded = 0;
  REQUIRE(run(bytes, got, launches, decoded).ok());
  CHECK(launches >= 2);  // the area holds the largest chunk only: reused
  CHECK(decoded == 40000 * 2 + 10001 * 2);
  auto host = Snapshot::open(kGolden);
  REQUIRE(host.ok());
  RestoreOptions ho;
  ho.allow_unsealed = true;
  auto restored = restore(*host, ho);
  REQUIRE(restored.ok());
  for (const auto& rr : restored->regions()) {
    REQUIRE(got[rr.index].size() == rr.meta->size);
    CHECK(std::memcmp(rr.host, got[rr.index].data(), rr.meta->size) == 0);  // the same bytes as a host restore
  }

  auto snap = Snapshot::open(kGolden);
  REQUIRE(snap.ok());
  const SnapshotData& s = SnapshotAccess::data(*snap);
  const uint64_t off1 = s.chunks[1].stored_offset, off2 = s.chunks[2].stored_offset;
  std::vector<std::vector<uint8_t>> bad;
  Status st = run(vtest::flip_bit(bytes, off1 + 7), bad, launches, decoded);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind() == ErrorKind::Integrity);
  CHECK(st.error().message().find("chunk 1") != std::string::npos);
  CHECK(st.error().message().find("checked on GPU 0") != std::string::npos);
  const uint8_t* d1 = bad[0].data() + s.chunks[1].region_offset;
  CHECK(std::all_of(d1, d1 + s.chunks[1].raw_size, [](uint8_t v) { return v == 0; }));  // never decoded

  // Two refused chunks: the lowest is the report.
  std::vector<std::vector<uint8_t>> both;
  st = run(vtest::flip_bit(vtest::flip_bit(bytes, off2 + 9), off1 + 7), both, launches, decoded);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message().find("chunk 1") != std::string::npos);
}
