// Where a cuda restore puts each selected region (backend/device_layout.h):
// one arena per target GPU with aligned offsets, managed memory for
// read-mostly regions, fixed-VA reservations planned once per allocation,
// host memory for modules and host regions; and the public parsers of the
// restore options that lead there.
#include <doctest/doctest.h>

#include "backend/device_layout.h"
#include "backend/device_map.h"
#include "vramsnap/restore.hpp"

using namespace vramsnap;
using namespace vramsnap::backend;

namespace {

constexpr uint64_t MiB = 1ull << 20;

RegionMeta dev(const char* name, uint64_t size, int device) {
  RegionMeta r;
  r.name = name;
  r.kind = RegionKind::Device;
  r.size = size;
  r.device = device;
  return r;
}

}  // namespace

TEST_CASE("device layout: one arena per target GPU, 256-byte aligned offsets") {
  std::vector<RegionMeta> rs = {dev("a", 1000, 0), dev("b", 10, 1), dev("c", 300, 0), dev("d", 0, 1)};
  RegionMeta h;
  h.name = "h";
  h.kind = RegionKind::Host;
  h.size = 5;
  rs.push_back(h);
  auto a = resolve_devices(rs, *backend::parse_device_map("0:1,1:0"), 0, 2);
  REQUIRE(a.ok());
  auto l = plan_device_layout(rs, {0, 1, 2, 3, 4}, a->region_device, false, 0);
  REQUIRE(l.ok());
  CHECK(l->regions[0].how == Placement::Arena);
  CHECK(l->regions[0].device == 1);
  CHECK(l->regions[0].offset == 0);
  CHECK(l->regions[2].device == 1);
  CHECK(l->regions[2].offset == 1024);  // 1000 rounded up to 256
  CHECK(l->regions[1].device == 0);
  CHECK(l->regions[1].offset == 0);
  CHECK(l->regions[3].how == Placement::Arena);  // empty: a pointer into the arena, no bytes
  CHECK(l->regions[4].how == Placement::Host);
  CHECK(l->regions[4].device == -1);
  CHECK(l->arena_bytes.size() == 2);
  CHECK(l->arena_bytes.at(1) == 1324);
  CHECK(l->arena_bytes.at(0) == 256);  // b (10 bytes), then d aligned after it
  CHECK_FALSE(l->va);
}

TEST_CASE("device layout: unselected regions are not placed; read-mostly goes to managed memory") {
  std::vector<RegionMeta> rs = {dev("a", 4096, 0), dev("b", 4096, 0)};
  rs[1].flags |= kFlagReadMostly;
  std::vector<int> to = {0, 0};
  auto l = plan_device_layout(rs, {1}, to, false, 0);
  REQUIRE(l.ok());
  CHECK(l->regions[0].how == Placement::Unselected);
  CHECK(l->regions[1].how == Placement::Managed);
  CHECK(l->arena_bytes.empty());
}

TEST_CASE("device layout: fixed VA reserves each allocation once, regions at their addresses") {
  // Two regions inside one 3 MiB allocation at an unaligned base, one granule
  // apart from a region of another allocation on the second GPU.
  std::vector<RegionMeta> rs = {dev("w0", 1 * MiB, 0), dev("w1", 512 * 1024, 0), dev("x", 4096, 1)};
  const uint64_t base = 0x7f0000000000ull + 0x10000;
  rs[0].va = base;
  rs[1].va = base + 1 * MiB + 4096;
  rs[0].alloc = rs[1].alloc = AllocationRange{base, 3 * MiB};
  rs[2].va = 0x7f0000800000ull;
  rs[2].flags |= kFlagReadMostly;  // fixed VA wins: the address is what matters
  auto l = plan_device_layout(rs, {0, 1, 2}, {0, 0, 1}, true, 2 * MiB);
  REQUIRE(l.ok());
  REQUIRE(l->va);
  for (size_t r : {0, 1, 2}) CHECK(l->regions[r].how == Placement::FixedVa);
  REQUIRE(l->va->reservations.size() == 2);
  CHECK(l->va->reservations[0].base == 0x7f0000000000ull);
  CHECK(l->va->reservations[0].size == 4 * MiB);
  CHECK(l->va->reservations[0].device == 0);
  CHECK(l->va->reservations[1].device == 1);
  REQUIRE(l->va_regions.size() == 3);
  for (size_t k = 0; k < 3; ++k) {
    const auto& p = *l->va->placements[k];
    CHECK(l->va->reservations[p.reservation].base + p.offset == *rs[l->va_regions[k]].va);
  }
  CHECK(l->arena_bytes.empty());
}

TEST_CASE("device layout: errors") {
  std::vector<RegionMeta> rs = {dev("novA", 4096, 0)};
  auto l = plan_device_layout(rs, {0}, {0}, true, 2 * MiB);
  REQUIRE_FALSE(l.ok());
  CHECK(l.error().kind() == ErrorKind::Usage);
  CHECK(l.error().message().find("novA") != std::string::npos);
  CHECK_FALSE(plan_device_layout(rs, {0}, {-1}, false, 0).ok());  // a device region with no GPU
  CHECK_FALSE(plan_device_layout(rs, {3}, {0}, false, 0).ok());   // index out of range
  rs[0].va = 0x1000;
  rs[0].alloc = AllocationRange{0x2000, 4096};  // region outside its allocation: va_plan's Format error
  auto bad = plan_device_layout(rs, {0}, {0}, true, 2 * MiB);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind() == ErrorKind::Format);
}

TEST_CASE("restore options: public device map and staging parsers") {
  auto m = parse_device_map_spec("3:0,1:0");
  REQUIRE(m.ok());
  CHECK(m->size() == 2);
  CHECK(m->at(3) == 0);
  for (const char* bad : {"", "3", "3:", "a:0", "1:0,1:1", "0:1024", "-1:0", "0:0,"}) {
    auto r = parse_device_map_spec(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
  }
  auto bad = parse_device_map_spec("0:0,7:x");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find("\"7:x\"") != std::string::npos);  // names the bad entry
  auto s = parse_staging_spec("12x4MiB");
  REQUIRE(s.ok());
  CHECK(s->buffers == 12);
  CHECK(s->buffer_bytes == 4 * MiB);
  CHECK_FALSE(parse_staging_spec("12").ok());
  CHECK_FALSE(parse_staging_spec("0x4MiB").ok());
  CHECK_FALSE(parse_staging_spec("4xlots").ok());
}
