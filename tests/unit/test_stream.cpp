// The streaming handover (vramsnap/stream.hpp): delivery order, each region
// exactly once with the right bytes, ownership of delivered buffers, a
// failure after some deliveries, and the caller stopping part-way.
#include "test_support.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>

#include "vramsnap/stream.hpp"

using namespace vtest;
using vramsnap::Handover;
using vramsnap::StreamOptions;

namespace {

std::vector<RegionData> layers() {
  std::vector<RegionData> v;
  for (int i = 0; i < 6; ++i)
    v.push_back(region("layer." + std::to_string(i), bf16_like((i + 1) * 70000 + 2 * i, 40 + i), "bf16"));
  v.push_back(region("empty", {}, "u8"));
  v.push_back(region("zeros", Bytes(200000, 0), "f32"));
  return v;
}

StreamOptions stream_options(unsigned threads) {
  StreamOptions o;
  o.allow_unsealed = true;
  o.threads = threads;
  return o;
}

// What the callback saw; frees the delivered buffers at the end.
struct Deliveries {
  std::vector<size_t> order;
  std::map<size_t, Bytes> bytes;
  std::vector<void*> owned;
  ~Deliveries() {
    for (void* p : owned) std::free(p);
  }
  Handover take(const vramsnap::RestoredRegion& rr) {
    order.push_back(rr.index);
    const auto* p = static_cast<const uint8_t*>(rr.host);
    bytes[rr.index] = p ? Bytes(p, p + rr.meta->size) : Bytes{};
    owned.push_back(rr.host);
    return Handover::Continue;
  }
};

// A file source whose chunk reads in [gate, end) wait until open() is called
// (or a second passes), so a test can hold the restore back until a region
// has been delivered.
class GatedSource final : public vramsnap::Source {
 public:
  GatedSource(std::shared_ptr<const Source> inner, uint64_t gate, uint64_t end)
      : inner_(std::move(inner)), gate_(gate), end_(end) {}
  const std::string& name() const override { return inner_->name(); }
  uint64_t size() const override { return inner_->size(); }
  std::string identity() const override { return inner_->identity(); }
  vramsnap::Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts,
                         const PieceFn& on_piece) const override {
    if (offset >= gate_ && offset < end_) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::seconds(1), [&] { return open_; });
    }
    return inner_->readv(offset, parts, on_piece);
  }
  void open() const {
    {
      std::lock_guard lk(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::shared_ptr<const Source> inner_;
  uint64_t gate_, end_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable bool open_ = false;
};

}  // namespace

TEST_CASE("stream: every region once, in the order given, with its bytes") {
  TempDir dir;
  const auto regions = layers();
  const std::string path = dir.path + "/s.snap";
  make_snapshot(path, regions);
  auto snap = open_ok(path);
  for (unsigned threads : {1u, 2u, 4u}) {
    CAPTURE(threads);
    {  // file order by default
      Deliveries d;
      auto r = vramsnap::restore_stream(snap, stream_options(threads), [&](const auto& rr) { return d.take(rr); });
      REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message()));
      CHECK(d.order == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7});
      for (size_t i = 0; i < regions.size(); ++i) CHECK(d.bytes[i] == regions[i].bytes);
      CHECK(r->chunks == snap.chunks().size());
    }
    {  // the caller's order, the rest after it in file order
      auto opt = stream_options(threads);
      opt.order = {"layer.5", "zeros", "layer.0", "empty"};
      Deliveries d;
      auto r = vramsnap::restore_stream(snap, opt, [&](const auto& rr) { return d.take(rr); });
      REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message()));
      CHECK(d.order == std::vector<size_t>{5, 7, 0, 6, 1, 2, 3, 4});
      for (size_t i = 0; i < regions.size(); ++i) CHECK(d.bytes[i] == regions[i].bytes);
    }
    {  // a selection: only the regions selected
      auto opt = stream_options(threads);
      opt.regions = {"layer.1", "layer.3", "empty"};
      opt.order = {"layer.3"};
      Deliveries d;
      auto r = vramsnap::restore_stream(snap, opt, [&](const auto& rr) { return d.take(rr); });
      REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message()));
      CHECK(d.order == std::vector<size_t>{3, 1, 6});
      CHECK(d.bytes[3] == regions[3].bytes);
    }
  }
}

TEST_CASE("stream: bad orders and targets are usage errors; the seal comes first") {
  TempDir dir;
  const std::string path = dir.path + "/s.snap";
  make_snapshot(path, layers());
  auto snap = open_ok(path);
  int calls = 0;
  auto count = [&](const vramsnap::RestoredRegion&) {
    ++calls;
    return Handover::Continue;
  };
  auto opt = stream_options(2);
  opt.order = {"layer.9"};
  VT_CHECK_ERROR(vramsnap::restore_stream(snap, opt, count), ErrorKind::Usage, "layer.9");
  opt.order = {"layer.1", "layer.1"};
  VT_CHECK_ERROR(vramsnap::restore_stream(snap, opt, count), ErrorKind::Usage, "twice");
  opt.order = {"layer.1"};
  opt.regions = {"layer.2"};
  VT_CHECK_ERROR(vramsnap::restore_stream(snap, opt, count), ErrorKind::Usage, "not a region being restored");
  opt = stream_options(2);
  opt.target = vramsnap::Target::Cuda;
  VT_CHECK_ERROR(vramsnap::restore_stream(snap, opt, count), ErrorKind::Usage, "host memory");
  opt = stream_options(2);
  opt.allow_unsealed = false;
  VT_CHECK_ERROR(vramsnap::restore_stream(snap, opt, count), ErrorKind::Integrity, "");
  CHECK(calls == 0);
}

TEST_CASE("stream: a failure after some deliveries fails the restore; delivered regions stay valid") {
  TempDir dir;
  const auto regions = layers();
  const std::string path = dir.path + "/s.snap";
  make_snapshot(path, regions);
  auto probe = open_ok(path);
  // Damage the last chunk of layer.4; hold its reads back until layer.0 is out.
  const auto& bad = probe.region_chunks(4).back();
  auto file = read_file(path);
  write_file(path, flip_bit(file, bad.stored_offset + bad.stored_size / 2));
  auto inner = vramsnap::open_file_source(path);
  REQUIRE(inner.ok());
  auto gated = std::make_shared<GatedSource>(*inner, probe.region_chunks(1).front().stored_offset,
                                             probe.layout().table_offset);
  auto opened = vramsnap::Snapshot::open(gated);
  REQUIRE(opened.ok());
  Deliveries d;
  auto r = vramsnap::restore_stream(*opened, stream_options(1), [&](const auto& rr) {
    gated->open();
    return d.take(rr);
  });
  VT_CHECK_ERROR(r, ErrorKind::Integrity, "layer.4");
  REQUIRE(!d.order.empty());
  for (size_t k = 0; k < d.order.size(); ++k) {
    CHECK(d.order[k] == k);  // file order, no gaps, each once
    CHECK(d.bytes[k] == regions[k].bytes);
  }
  CHECK(d.order.size() <= 4);  // never layer.4 or anything after it
}

TEST_CASE("stream: the caller stops part-way; cancel flag") {
  TempDir dir;
  const auto regions = layers();
  const std::string path = dir.path + "/s.snap";
  make_snapshot(path, regions);
  auto snap = open_ok(path);
  for (unsigned threads : {1u, 2u}) {
    CAPTURE(threads);
    Deliveries d;
    auto opt = stream_options(threads);
    opt.order = {"layer.2", "layer.0"};
    auto r = vramsnap::restore_stream(snap, opt, [&](const auto& rr) {
      d.take(rr);
      return d.order.size() == 2 ? Handover::Stop : Handover::Continue;
    });
    VT_CHECK_ERROR(r, ErrorKind::Interrupted, "after 2 of 8 regions");
    CHECK(d.order == std::vector<size_t>{2, 0});
    CHECK(d.bytes[2] == regions[2].bytes);
    CHECK(d.bytes[0] == regions[0].bytes);
  }
  std::atomic<bool> cancel{true};
  auto opt = stream_options(2);
  opt.cancel = &cancel;
  Deliveries d;
  VT_CHECK_ERROR(vramsnap::restore_stream(snap, opt, [&](const auto& rr) { return d.take(rr); }),
                 ErrorKind::Interrupted, "cancelled");
  CHECK(d.order.size() <= 1);  // at most the empty region, complete before any chunk
}

TEST_CASE("stream: caller buffers from host_allocator") {
  TempDir dir;
  const auto regions = layers();
  const std::string path = dir.path + "/s.snap";
  make_snapshot(path, regions);
  auto snap = open_ok(path);
  std::vector<Bytes> mine(regions.size());
  auto opt = stream_options(2);
  opt.host_allocator = [&](const vramsnap::RegionMeta& m) -> void* {
    const long i = snap.find_region(m.name);
    mine[static_cast<size_t>(i)].resize(m.size);
    return m.size ? mine[static_cast<size_t>(i)].data() : nullptr;
  };
  std::vector<size_t> order;
  auto r = vramsnap::restore_stream(snap, opt, [&](const vramsnap::RestoredRegion& rr) {
    order.push_back(rr.index);
    if (rr.meta->size) CHECK(rr.host == mine[rr.index].data());
    return Handover::Continue;
  });
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message()));
  CHECK(order.size() == regions.size());
  for (size_t i = 0; i < regions.size(); ++i) CHECK(mine[i] == regions[i].bytes);
}

TEST_CASE("stream: a callback that throws stops and joins the restore; the exception reaches the caller") {
  TempDir dir;
  const auto regions = layers();
  const std::string path = dir.path + "/s.snap";
  make_snapshot(path, regions);
  auto snap = open_ok(path);
  struct Thrown {};
  for (unsigned threads : {1u, 2u}) {
    CAPTURE(threads);
    Deliveries d;
    auto opt = stream_options(threads);
    opt.order = {"layer.4", "layer.1"};
    CHECK_THROWS_AS((void)vramsnap::restore_stream(snap, opt,
                                             [&](const auto& rr) {
                                               d.take(rr);  // delivered: the caller's, even though it throws
                                               if (d.order.size() == 2) throw Thrown{};
                                               return Handover::Continue;
                                             }),
                    Thrown);
    CHECK(d.order == std::vector<size_t>{4, 1});
    CHECK(d.bytes[1] == regions[1].bytes);
  }
  // The snapshot is usable again at once: nothing of the stopped run is left running.
  Deliveries d;
  REQUIRE(vramsnap::restore_stream(snap, stream_options(2), [&](const auto& rr) { return d.take(rr); }).ok());
  CHECK(d.order.size() == regions.size());
}
