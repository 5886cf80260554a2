// The host side of device-verified restore (backend/device_verify.h): which
// chunks are hashed on the GPU, how chunks are batched for the leaf kernels
// (bounded, first leaves in order), the batch run through the kernels' logic
// on the host against the CPU hasher, verdicts turned into failures that
// name the chunk and GPU, and the engine's merge picking the lowest failure;
// the device path's unhashed read of stored bytes in pieces; the whole flow
// through the restore engine with a host stand-in for the device.
#include "test_support.h"
#include "device_standin.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <random>
#include <tuple>

#include "backend/device_verify.h"
#include "crypto/leaf_hash.h"
#include "pipeline/engine.h"
#include "pipeline/restore_run.h"
#include "pipeline/stages.h"

using namespace vramsnap;
using namespace vramsnap::backend;
namespace k = vramsnap::backend::kernels;
namespace core = vramsnap::crypto::sha256core;

namespace {

ChunkEntry chunk(Codec codec, uint64_t size) {
  ChunkEntry c;
  c.codec = codec;
  c.raw_size = size;
  c.stored_size = size;
  return c;
}

// The kernels' logic on the host over a batch whose job pointers are host memory.
std::vector<uint32_t> run_batch_on_host(const VerifyBatch& vb) {
  std::vector<k::ChunkJob> jobs = vb.jobs();
  return vtest::run_leaf_kernels_on_host(jobs, vb.leaves());
}

}  // namespace

TEST_CASE("device verify: only leaf-hashed raw chunks of device regions at aligned addresses") {
  const auto raw = chunk(Codec::Raw, 1 << 20), zstd = chunk(Codec::Zstd, 1 << 20);
  const auto leaf = ChunkHashScheme::Leaf16k, flat = ChunkHashScheme::Flat;
  CHECK(verify_on_device(VerifyOn::Auto, true, leaf, raw, RegionKind::Device, 0x7f0000000000));
  CHECK(verify_on_device(VerifyOn::Device, true, leaf, raw, RegionKind::Device, 0x7f0000000010));
  CHECK_FALSE(verify_on_device(VerifyOn::Host, true, leaf, raw, RegionKind::Device, 0x7f0000000000));
  CHECK_FALSE(verify_on_device(VerifyOn::Auto, false, leaf, raw, RegionKind::Device, 0x7f0000000000));  // no kernels
  CHECK_FALSE(verify_on_device(VerifyOn::Auto, true, flat, raw, RegionKind::Device, 0x7f0000000000));  // v1 hash
  CHECK_FALSE(verify_on_device(VerifyOn::Auto, true, leaf, zstd, RegionKind::Device, 0x7f0000000000));  // host decode
  CHECK_FALSE(verify_on_device(VerifyOn::Auto, true, leaf, raw, RegionKind::Module, 0x7f0000000000));
  CHECK_FALSE(verify_on_device(VerifyOn::Auto, true, leaf, raw, RegionKind::Device, 0x7f0000000008));  // 16-byte loads
  CHECK(check_verify_on(VerifyOn::Auto, false).ok());
  CHECK(check_verify_on(VerifyOn::Device, true).ok());
  auto no = check_verify_on(VerifyOn::Device, false);
  REQUIRE_FALSE(no.ok());
  CHECK(no.error().kind() == ErrorKind::Compat);
}

TEST_CASE("device verify: batches are bounded and number leaves in order") {
  VerifyBatch b(3, 10);
  std::array<uint8_t, 32> h{};
  CHECK(b.empty());
  CHECK(b.add(7, 0x1000, 16384 * 2, h));      // 2 leaves
  CHECK(b.add(9, 0x9000, 1, h));              // 1 leaf
  CHECK(b.ready());                           // 2 of 3 chunks
  CHECK_FALSE(b.add(11, 0xa000, 16384 * 8, h));  // 8 more leaves: over 10
  CHECK(b.add(11, 0xa000, 16384 * 7, h));
  CHECK_FALSE(b.add(12, 0x10000, 1, h));      // a fourth chunk
  REQUIRE(b.jobs().size() == 3);
  CHECK(b.jobs()[0].first_leaf == 0);
  CHECK(b.jobs()[1].first_leaf == 2);
  CHECK(b.jobs()[2].first_leaf == 3);
  CHECK(b.leaves() == 10);
  CHECK(b.chunks() == std::vector<size_t>{7, 9, 11});
  b.clear();
  CHECK(b.empty());
  CHECK(b.leaves() == 0);
  CHECK_FALSE(VerifyBatch(4, 2).add(0, 0, 16384 * 3, h));  // never fits
}

TEST_CASE("device verify: a batch through the kernels' logic; verdicts to failures; lowest wins") {
  // Three chunks of a leaf-hashed region: whole leaves, an odd tail, one byte.
  SnapshotData s;
  s.path = "t.snap";
  s.chunk_hash = ChunkHashScheme::Leaf16k;
  RegionMeta r;
  r.name = "w";
  r.kind = RegionKind::Device;
  s.regions.push_back(r);
  const uint64_t sizes[] = {3 * 16384, 16384 + 4097, 1};
  std::vector<std::vector<uint8_t>> data;
  std::mt19937 rng(5);
  uint64_t off = 0;
  for (uint64_t n : sizes) {
    std::vector<uint8_t> d(n);
    for (auto& x : d) x = static_cast<uint8_t>(rng());
    crypto::LeafHasher lh;
    lh.update(d);
    ChunkEntry c = chunk(Codec::Raw, n);
    c.region_offset = off;
    c.stored_offset = 4096 + off;
    c.hash = lh.finish();
    off += n;
    s.chunks.push_back(c);
    data.push_back(std::move(d));
  }
  data[1][16384 + 17] ^= 0x20;  // a flipped bit in the second chunk's tail leaf, "on the device"
  VerifyBatch b(8, 64);
  for (size_t i = 0; i < 3; ++i)
    REQUIRE(b.add(i, reinterpret_cast<uint64_t>(data[i].data()), sizes[i], s.chunks[i].hash));
  const auto verdicts = run_batch_on_host(b);
  CHECK(verdicts == std::vector<uint32_t>{1, 0, 1});
  auto failures = failures_from_verdicts(s, b.chunks(), verdicts, 2);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].chunk == 1);
  CHECK(failures[0].error.kind() == ErrorKind::Integrity);
  const std::string msg = failures[0].error.message();
  CHECK(msg.find("region \"w\", chunk 1") != std::string::npos);
  CHECK(msg.find("GPU 2") != std::string::npos);
  // Slots never launched read as mismatches, not as passes.
  CHECK(failures_from_verdicts(s, {0, 2}, {1}, 0).size() == 1);
  // The engine failed at chunk 2 (a read error, say) while the GPU refused
  // chunk 1: the report is chunk 1, whatever order they arrived in.
  auto worst = pipeline::lowest_failure(pipeline::ChunkFailure{2, Error(ErrorKind::IO, "read")}, failures);
  REQUIRE(worst);
  CHECK(worst->chunk == 1);
}

TEST_CASE("device verify: stored bytes read unhashed in pieces; the padding is still checked") {
  const std::string golden = std::string(VRAMSNAP_SOURCE_DIR) + "/tests/golden/v1.1-leaf.snap";
  auto snap = Snapshot::open(golden);
  REQUIRE(snap.ok());
  const SnapshotData& s = SnapshotAccess::data(*snap);
  REQUIRE(s.chunks[0].codec == Codec::Raw);
  const auto& c = s.chunks[0];  // three leaves: 16384 + 16384 + 7232
  std::vector<uint8_t> got(c.stored_size);
  pipeline::WorkerClock clk;
  REQUIRE(pipeline::read_unverified(s, 0, 0, {got.data(), 16384}, clk).ok());
  REQUIRE(pipeline::read_unverified(s, 0, 16384, {got.data() + 16384, c.stored_size - 16384}, clk).ok());
  crypto::LeafHasher lh;
  lh.update(got);
  CHECK(lh.finish() == c.hash);  // what the GPU will compare
  std::vector<uint8_t> big(c.stored_size + 1);
  auto outside = pipeline::read_unverified(s, 0, 0, big, clk);
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().kind() == ErrorKind::Limit);

  // A nonzero byte in the padding after chunk 0: the last piece is refused.
  vtest::TempDir dir("devverify");
  auto bytes = vtest::read_file(golden);
  bytes[c.stored_offset + c.stored_size + 5] = 0x01;
  vtest::write_file(dir / "pad.snap", bytes);
  auto bad = Snapshot::open(dir / "pad.snap");
  REQUIRE(bad.ok());
  const SnapshotData& b = SnapshotAccess::data(*bad);
  CHECK(pipeline::read_unverified(b, 0, 0, {got.data(), 16384}, clk).ok());  // not the last piece
  auto st = pipeline::read_unverified(b, 0, 16384, {got.data() + 16384, c.stored_size - 16384}, clk);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind() == ErrorKind::Integrity);
  CHECK(st.error().message().find("padding") != std::string::npos);
}

namespace {

// A sink that "verifies on the device" the way the CUDA sink does, with host
// memory as the device and the kernels' logic run on the host: raw chunks
// are placed unhashed and batched; verdicts come back after the last chunk
// (or when the engine stopped early).
class HostDeviceSink final : public vtest::HostMemorySink {
 public:
  using HostMemorySink::HostMemorySink;
  bool verifies(size_t i) const override { return s_.chunks[i].codec == Codec::Raw; }
  Status place_unverified(unsigned, size_t i, pipeline::WorkerClock& clk) override {
    const auto& c = s_.chunks[i];
    uint8_t* to = dst(i);
    VRAMSNAP_TRY(pipeline::read_unverified(s_, i, 0, {to, c.stored_size}, clk));
    std::lock_guard lk(mu_);
    REQUIRE(batch_.add(i, reinterpret_cast<uint64_t>(to), c.raw_size, c.hash));
    return {};
  }
  Status finish(PhaseTimes&) override {
    drain();
    return failures_.empty() ? Status{} : Status(Error(ErrorKind::Integrity, "device verification failed"));
  }
  std::vector<pipeline::ChunkFailure> deferred_failures() override {
    drain();
    return failures_;
  }
 private:
  void drain() {
    if (drained_) return;
    drained_ = true;
    if (!batch_.empty()) failures_ = failures_from_verdicts(s_, batch_.chunks(), run_batch_on_host(batch_), 0);
  }
  std::mutex mu_;
  VerifyBatch batch_{64, 4096};
  std::vector<pipeline::ChunkFailure> failures_;
  bool drained_ = false;
};

}  // namespace

TEST_CASE("device verify through the engine: placed unhashed, refused by verdict, lowest failure reported") {
  const std::string golden = std::string(VRAMSNAP_SOURCE_DIR) + "/tests/golden/v1.1-leaf.snap";
  const auto bytes = vtest::read_file(golden);
  vtest::TempDir dir("devengine");
  RestoreOptions opt;
  opt.threads = 1;  // claims in order: the engine stops at its failure, later chunks are never placed
  int n = 0;
  auto run = [&](const std::vector<uint8_t>& file) {
    const std::string path = dir / ("s" + std::to_string(n++) + ".snap");
    vtest::write_file(path, file);
    auto snap = Snapshot::open(path);
    REQUIRE(snap.ok());
    const SnapshotData& s = SnapshotAccess::data(*snap);
    REQUIRE(s.chunks[0].codec == Codec::Raw);
    REQUIRE(s.chunks[1].codec == Codec::Zstd);
    std::vector<size_t> all;
    for (size_t r = 0; r < s.regions.size(); ++r) all.push_back(r);
    HostDeviceSink sink(s);
    RestoreStats stats;
    Status st = pipeline::run_restore(s, all, opt, sink, stats);
    std::vector<uint8_t> raw0 = sink.region(0);
    return std::tuple{std::move(st), std::move(raw0), sink.abandoned, s.chunks[0].stored_offset,
                      s.chunks[1].stored_offset};
  };
  auto [ok, raw0, ab0, off0, off1] = run(bytes);
  REQUIRE(ok.ok());
  CHECK(ab0 == 0);
  auto host = Snapshot::open(golden);
  REQUIRE(host.ok());
  RestoreOptions ho;
  ho.allow_unsealed = true;
  auto restored = restore(*host, ho);
  REQUIRE(restored.ok());
  const auto& rr = restored->regions()[0];
  CHECK(std::memcmp(rr.host, raw0.data(), raw0.size()) == 0);  // the same bytes as a host restore

  auto flipped0 = vtest::flip_bit(bytes, off0 + 100);
  auto [st0, r0, ab1, o0, o1] = run(flipped0);
  REQUIRE_FALSE(st0.ok());
  CHECK(st0.error().kind() == ErrorKind::Integrity);
  CHECK(st0.error().message().find("chunk 0") != std::string::npos);
  CHECK(st0.error().message().find("checked on GPU 0") != std::string::npos);

  // Chunk 1 fails on the host (the engine stops there, its buffer given
  // back); chunk 0's verdict, read back after the stop, is still the report.
  auto both = vtest::flip_bit(flipped0, off1 + 3);
  auto [st1, r1, ab2, p0, p1] = run(both);
  REQUIRE_FALSE(st1.ok());
  CHECK(st1.error().message().find("chunk 0") != std::string::npos);
  CHECK(ab2 == 1);
  auto only1 = vtest::flip_bit(bytes, off1 + 3);
  auto [st2, r2, ab3, q0, q1] = run(only1);
  REQUIRE_FALSE(st2.ok());
  CHECK(st2.error().message().find("chunk 1") != std::string::npos);
  CHECK(st2.error().message().find("GPU") == std::string::npos);  // refused by the host hash
}
