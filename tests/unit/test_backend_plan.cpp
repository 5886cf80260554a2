// The driver-free logic of the CUDA path: device maps, fixed-VA reservation
// planning, the pinned staging pool and piece copies, the host-memory budget,
// and the manifest's record of each region's enclosing allocation.
#include <doctest/doctest.h>

#include "backend/device_map.h"
#include "backend/staging_plan.h"
#include "backend/va_plan.h"
#include "format/manifest.h"
#include "format/snapshot_data.h"
#include "pipeline/host_sink.h"

using namespace vramsnap;
using namespace vramsnap::backend;

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t kGran = 2 * MiB;

RegionMeta region(const char* name, RegionKind kind, int device) {
  RegionMeta r;
  r.name = name;
  r.kind = kind;
  r.size = 4096;
  r.device = device;
  return r;
}

}  // namespace

TEST_CASE("device map: strict parsing") {
  auto m = parse_device_map("0:0,3:1,2:1");
  REQUIRE(m.ok());
  CHECK(m->pairs.size() == 3);
  CHECK(m->pairs.at(3) == 1);
  CHECK(m->pairs.at(2) == 1);  // several SRC to one DST
  CHECK(to_string(*m) == "0:0,2:1,3:1");
  CHECK(parse_device_map("1023:0").ok());
  for (const char* bad : {"", "0", "0:", ":0", "0:0,", ",0:0", "0:0,,1:1", "-1:0", "+1:0", "0:-1", "1024:0",
                          "0:1024", " 0:0", "0:0 ", "0x1:0", "1.0:0", "a:b", "0:0:0", "99999:0"}) {
    auto r = parse_device_map(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.error().kind() == ErrorKind::Usage);
  }
  auto dup = parse_device_map("1:0,1:1");
  REQUIRE(!dup.ok());
  CHECK(dup.error().message().find("GPU 1 is mapped twice") != std::string::npos);
}

TEST_CASE("device map: resolution against the GPUs present") {
  std::vector<RegionMeta> rs = {region("w0", RegionKind::Device, 0), region("w3", RegionKind::Device, 3),
                                region("host", RegionKind::Host, 2), region("nodev", RegionKind::Device, -1),
                                region("mod", RegionKind::Module, 3)};
  SUBCASE("identity without a map") {
    auto a = resolve_devices(rs, {}, 1, 4);
    REQUIRE(a.ok());
    CHECK(a->region_device == std::vector<int>{0, 3, -1, 1, 3});
    CHECK(a->devices == std::vector<int>{0, 1, 3});
  }
  SUBCASE("identity fails when the recorded GPU is missing, naming it") {
    auto a = resolve_devices(rs, {}, 0, 2);
    REQUIRE(!a.ok());
    CHECK(a.error().kind() == ErrorKind::Compat);
    CHECK(a.error().message().find("\"w3\" was captured on GPU 3") != std::string::npos);
    CHECK(a.error().message().find("has 2 GPUs") != std::string::npos);
    CHECK(a.error().message().find("--device-map 3:DST") != std::string::npos);
  }
  SUBCASE("a map gathers onto one GPU") {
    auto a = resolve_devices(rs, *parse_device_map("0:0,3:0"), 0, 1);
    REQUIRE(a.ok());
    CHECK(a->region_device == std::vector<int>{0, 0, -1, 0, 0});
    CHECK(a->devices == std::vector<int>{0});
  }
  SUBCASE("an ordinal the map leaves out is refused") {
    auto a = resolve_devices(rs, *parse_device_map("3:0"), 0, 8);
    REQUIRE(!a.ok());
    CHECK(a.error().kind() == ErrorKind::Compat);
    CHECK(a.error().message().find("\"w0\" was captured on GPU 0, which --device-map 3:0 does not map") !=
          std::string::npos);
  }
  SUBCASE("a map onto a missing GPU is refused") {
    auto a = resolve_devices(rs, *parse_device_map("0:0,3:5"), 0, 2);
    REQUIRE(!a.ok());
    CHECK(a.error().kind() == ErrorKind::Compat);
    CHECK(a.error().message().find("GPU 5") != std::string::npos);
  }
  SUBCASE("no GPU at all") {
    auto a = resolve_devices(rs, {}, 0, 0);
    REQUIRE(!a.ok());
    CHECK(a.error().message().find("no CUDA GPU") != std::string::npos);
  }
  SUBCASE("host-only snapshots need no GPU") {
    std::vector<RegionMeta> host = {region("h", RegionKind::Host, 0), region("o", RegionKind::Other, 1)};
    auto a = resolve_devices(host, {}, 0, 0);
    REQUIRE(a.ok());
    CHECK(a->devices.empty());
  }
  SUBCASE("collapse_to: --target cuda:N without a map") {
    DeviceMap m = collapse_to(rs, 2);
    CHECK(to_string(m) == "0:2,3:2");
    auto a = resolve_devices(rs, m, 2, 3);
    REQUIRE(a.ok());
    CHECK(a->devices == std::vector<int>{2});
  }
}

TEST_CASE("fixed VA: allocations are reserved whole and aligned, regions at their offsets") {
  // Two regions inside one 8 MiB allocation that starts mid-granule, one
  // region of another allocation in the same granule, and a far one.
  const uint64_t base = 0x7f0000100000;  // 1 MiB past a granule boundary
  std::vector<VaRegion> rs = {
      {"a", base + 0x1000, 0x2000, AllocationRange{base, 8 * MiB}, 0},
      {"b", base + 5 * MiB, MiB, AllocationRange{base, 8 * MiB}, 0},
      {"c", base + 8 * MiB, 4096, AllocationRange{base + 8 * MiB, 64 * 1024}, 0},
      {"far", 0x7f1000000000, 3 * MiB, AllocationRange{0x7f1000000000, 4 * MiB}, 0},
      {"empty", 0x10, 0, std::nullopt, 0},
  };
  auto p = plan_fixed_va(rs, kGran);
  REQUIRE(p.ok());
  REQUIRE(p->reservations.size() == 2);
  CHECK(p->reservations[0].base == 0x7f0000000000);
  CHECK(p->reservations[0].size == 10 * MiB);  // [base-1MiB, base+8MiB+64KiB) rounded out
  CHECK(p->reservations[1].base == 0x7f1000000000);
  CHECK(p->reservations[1].size == 4 * MiB);
  CHECK(p->placements[0]->reservation == 0);
  CHECK(p->placements[0]->offset == MiB + 0x1000);
  CHECK(p->placements[1]->offset == 6 * MiB);
  CHECK(p->placements[2]->offset == 9 * MiB);
  CHECK(p->placements[3]->reservation == 1);
  CHECK(p->placements[3]->offset == 0);
  CHECK(!p->placements[4]);
  CHECK(p->total_bytes == 14 * MiB);
}

TEST_CASE("fixed VA: older files without the allocation do not collide inside one granule") {
  std::vector<VaRegion> rs = {{"x", 0x7f0000000100, 0x100, std::nullopt, 0},
                              {"y", 0x7f0000100000, 0x1000, std::nullopt, 0},
                              {"z", 0x7f00001ff000, 0x2000, std::nullopt, 0}};  // crosses into the next granule
  auto p = plan_fixed_va(rs, kGran);
  REQUIRE(p.ok());
  REQUIRE(p->reservations.size() == 1);
  CHECK(p->reservations[0].base == 0x7f0000000000);
  CHECK(p->reservations[0].size == 4 * MiB);
  CHECK(p->placements[0]->offset == 0x100);
  CHECK(p->placements[1]->offset == 0x100000);
  CHECK(p->placements[2]->offset == 0x1ff000);
}

TEST_CASE("fixed VA: adjacent allocations merge; other GPUs do not share a reservation") {
  std::vector<VaRegion> adj = {{"p", 0x200000, 4096, AllocationRange{0x200000, kGran}, 1},
                               {"q", 0x400000, 4096, AllocationRange{0x400000, kGran}, 1}};
  auto p = plan_fixed_va(adj, kGran);
  REQUIRE(p.ok());
  CHECK(p->reservations.size() == 1);
  CHECK(p->reservations[0].size == 2 * kGran);
  CHECK(p->reservations[0].device == 1);

  adj[1].device = 2;  // adjacent but on another GPU: two reservations
  p = plan_fixed_va(adj, kGran);
  REQUIRE(p.ok());
  CHECK(p->reservations.size() == 2);

  std::vector<VaRegion> shared = {{"p", 0x200000, 4096, std::nullopt, 0}, {"q", 0x300000, 4096, std::nullopt, 1}};
  auto s = plan_fixed_va(shared, kGran);
  REQUIRE(!s.ok());
  CHECK(s.error().kind() == ErrorKind::Compat);
}

TEST_CASE("fixed VA: errors") {
  auto outside = plan_fixed_va({{"o", 0x1000, 0x2000, AllocationRange{0x1000, 0x1000}, 0}}, kGran);
  REQUIRE(!outside.ok());
  CHECK(outside.error().kind() == ErrorKind::Format);
  CHECK(outside.error().message().find("not inside its allocation") != std::string::npos);
  auto below = plan_fixed_va({{"o", 0x1000, 0x10, AllocationRange{0x2000, 0x1000}, 0}}, kGran);
  CHECK(!below.ok());
  auto wrap = plan_fixed_va({{"w", UINT64_MAX - 10, 100, std::nullopt, 0}}, kGran);
  REQUIRE(!wrap.ok());
  CHECK(wrap.error().kind() == ErrorKind::Format);
  auto wrap_up = plan_fixed_va({{"w", UINT64_MAX - 4096, 10, std::nullopt, 0}}, kGran);  // aligning up overflows
  CHECK(!wrap_up.ok());
  auto alloc_wrap = plan_fixed_va({{"w", 0x1000, 1, AllocationRange{0x1000, UINT64_MAX}, 0}}, kGran);
  CHECK(!alloc_wrap.ok());
  auto zero = plan_fixed_va({{"z", 0x200000, 1, std::nullopt, 0}}, 0);
  REQUIRE(!zero.ok());
  CHECK(zero.error().kind() == ErrorKind::Compat);
}

TEST_CASE("staging pool: bounded, independent of threads and chunk size") {
  auto d = plan_staging({}, 256 * MiB);
  REQUIRE(d.ok());
  CHECK(d->buffers == kDefaultStagingBuffers);
  CHECK(d->buffer_bytes == kDefaultStagingBufferBytes);
  CHECK(d->total_bytes() == 128 * MiB);
  auto small = plan_staging({}, 100 * 1024);  // 100 KiB chunks: buffers shrink to 100 KiB (4 KiB multiple)
  REQUIRE(small.ok());
  CHECK(small->buffer_bytes == 100 * 1024);
  auto tiny = plan_staging({}, 0);
  REQUIRE(tiny.ok());
  CHECK(tiny->buffer_bytes == 4096);
  auto custom = parse_staging("12x4MiB");
  REQUIRE(custom.ok());
  auto c = plan_staging(*custom, 64 * MiB);
  REQUIRE(c.ok());
  CHECK(c->buffers == 12);
  CHECK(c->buffer_bytes == 4 * MiB);
  for (const char* bad : {"", "8", "x4MiB", "8x", "0x4MiB", "8x0", "ax4MiB", "8xlots", "-1x4MiB"})
    CHECK_MESSAGE(!parse_staging(bad).ok(), bad);
  CHECK(!plan_staging({1, 4 * MiB}, MiB).ok());           // one buffer cannot overlap fill and copy
  CHECK(!plan_staging({300, 4 * MiB}, MiB).ok());
  CHECK(!plan_staging({8, 1024}, MiB).ok());              // below 64 KiB
  CHECK(!plan_staging({8, 2ull << 30}, MiB).ok());        // above 1 GiB
  CHECK(!plan_staging({256, 1ull << 30}, MiB).ok());      // 256 GiB pinned
  CHECK(plan_staging({8, 4 * MiB}, MiB)->buffer_bytes == MiB);
}

TEST_CASE("staging pool: large chunks are copied in pieces") {
  auto p = split_into_pieces(1000, 10 * MiB + 5, 4 * MiB);
  REQUIRE(p.size() == 3);
  CHECK(p[0].src_offset == 0);
  CHECK(p[0].dst_offset == 1000);
  CHECK(p[0].size == 4 * MiB);
  CHECK(p[1].src_offset == 4 * MiB);
  CHECK(p[1].dst_offset == 1000 + 4 * MiB);
  CHECK(p[2].size == 2 * MiB + 5);
  CHECK(split_into_pieces(0, 4 * MiB, 4 * MiB).size() == 1);
  CHECK(split_into_pieces(0, 0, 4 * MiB).empty());
  CHECK(split_into_pieces(0, 10, 0).empty());
}

TEST_CASE("manifest: the enclosing allocation round-trips and is checked") {
  SnapshotMeta meta;
  meta.id_hex = "0123456789abcdef0123456789abcdef";
  meta.created = "2026-01-01T00:00:00Z";
  meta.tool = "test";
  RegionMeta r = region("w", RegionKind::Device, 0);
  r.va = 0x7f0000101000;
  r.alloc = AllocationRange{0x7f0000100000, 8 * MiB};
  RegionMeta old = region("old", RegionKind::Device, 0);
  old.va = 0x7f0000900000;
  const std::string text = format::encode_manifest(meta, {r, old});
  CHECK(text.find("\"alloc_base\":\"0x7f0000100000\"") != std::string::npos);
  CHECK(text.find("\"alloc_size\":8388608") != std::string::npos);
  auto m = format::parse_manifest(text);
  REQUIRE(m.ok());
  REQUIRE(m->regions[0].alloc);
  CHECK(m->regions[0].alloc->base == 0x7f0000100000);
  CHECK(m->regions[0].alloc->size == 8 * MiB);
  CHECK(!m->regions[1].alloc);  // absent: unknown, as in every older file

  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return format::parse_manifest(t);
  };
  for (auto bad : {with("\"alloc_size\":8388608", "\"alloc_size\":4096"),         // region ends past it
                   with("\"alloc_base\":\"0x7f0000100000\"", "\"alloc_base\":\"0x7f0000102000\""),  // starts after va
                   with("\"alloc_size\":8388608", "\"alloc_size\":0"),
                   with("\"alloc_size\":8388608", "\"alloc_size\":18446744073709551615"),  // overflows
                   with("\"alloc_size\":8388608,", ""),                              // base without size
                   with("\"alloc_base\":\"0x7f0000100000\",", ""),                   // size without base
                   with("\"alloc_base\":\"0x7f0000100000\"", "\"alloc_base\":1"),
                   with("\"alloc_size\":8388608", "\"alloc_size\":-1"),
                   with(",\"va\":\"0x7f0000101000\"", "")}) {                        // allocation without va
    REQUIRE(!bad.ok());
    CHECK(bad.error().kind() == ErrorKind::Format);
  }
}

TEST_CASE("host budget: regions charged cumulatively, every target alike") {
  SnapshotData s;
  s.path = "x.snap";
  RestoreOptions opt;
  opt.max_host_bytes = 10000;
  pipeline::HostBudget budget(opt);
  RegionMeta m = region("module", RegionKind::Module, 0);
  CHECK(budget.charge(s, m, 4097).ok());  // a module image and its NUL
  CHECK(budget.charge(s, m, 5000).ok());
  auto st = budget.charge(s, m, 1000);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind() == ErrorKind::Limit);
  CHECK(st.error().message().find("10097 bytes in all") != std::string::npos);
  CHECK_FALSE(budget.charge(s, m, UINT64_MAX).ok());  // no wrap-around
}
