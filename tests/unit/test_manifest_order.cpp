// The manifest parser reads each region from the JSON parser's events, with
// no tree: whatever the member order, repeated members or values of the wrong
// type, it must give the regions and the first error a walk over the whole
// JSON tree gives.
#include <doctest/doctest.h>

#include "format/manifest.h"
#include "test_support.h"

using namespace vtest;
using vramsnap::ErrorKind;
using vramsnap::RegionMeta;
using vramsnap::format::encode_manifest;
using vramsnap::format::parse_manifest;

namespace {

std::vector<RegionMeta> sample_regions() {
  std::vector<RegionMeta> v;
  for (int i = 0; i < 40; ++i) {
    RegionMeta r;
    r.name = "layer/" + std::to_string(i) + "/w";
    r.kind = i % 7 == 0 ? vramsnap::RegionKind::Host : vramsnap::RegionKind::Device;
    r.dtype = i % 5 == 0 ? "f32" : "bf16";
    r.shape = {uint64_t(i + 1), 2};
    r.size = (r.dtype == "f32" ? 4 : 2) * uint64_t(i + 1) * 2;
    r.device = i % 9 == 0 ? 1 : 0;
    if (i % 4 == 0) r.labels["role"] = "w" + std::to_string(i);
    if (i % 6 == 0) r.flags = vramsnap::kFlagReadMostly;
    if (i % 10 == 0) {
      r.va = 0x7f0000000000ull + uint64_t(i) * 0x10000;
      r.alloc = vramsnap::AllocationRange{*r.va, 0x10000};
    }
    v.push_back(r);
  }
  return v;
}

vramsnap::SnapshotMeta sample_meta() {
  vramsnap::SnapshotMeta m;
  m.id_hex = "0123456789abcdef0011223344556677";
  m.created = "2026-01-01T00:00:00Z";
  m.tool = "t";
  return m;
}

// The same manifest with "regions" moved before "region_defaults" (the
// writer sorts members, so region_defaults comes first).
std::string regions_first(const std::string& text) {
  const size_t d = text.find("\"region_defaults\":");
  const size_t r = text.find(",\"regions\":");
  const size_t e = text.find("],\"snapshot_id\":");
  REQUIRE(d != std::string::npos);
  REQUIRE(r != std::string::npos);
  REQUIRE(e != std::string::npos);
  REQUIRE((d < r && r < e));
  return text.substr(0, d) + text.substr(r + 1, e + 1 - (r + 1)) + "," + text.substr(d, r - d) + text.substr(e + 1);
}

std::string reencode(const vramsnap::Result<vramsnap::format::Manifest>& m) {
  REQUIRE_MESSAGE(m.ok(), message_of(m));
  return encode_manifest(m->meta, m->regions, true);
}

}  // namespace

TEST_CASE("manifest: regions converted while reading match the whole-tree walk") {
  const auto regions = sample_regions();
  const std::string text = encode_manifest(sample_meta(), regions, true);
  const std::string swapped = regions_first(text);
  REQUIRE(swapped != text);
  CHECK(reencode(parse_manifest(text, true)) == text);
  CHECK(reencode(parse_manifest(swapped, true)) == text);
  // Without the packed-regions bit the defaults are unknown members.
  VT_CHECK_ERROR(parse_manifest(text, false), ErrorKind::Format, "regions[1]: missing \"kind\"");
  VT_CHECK_ERROR(parse_manifest(swapped, false), ErrorKind::Format, "regions[1]: missing \"kind\"");
}

TEST_CASE("manifest: the first failing region and the order of errors do not depend on member order") {
  const std::string text = encode_manifest(sample_meta(), sample_regions(), true);
  std::string bad = text;
  const size_t seventh = bad.find("\"name\":\"layer/7/w\"");
  REQUIRE(seventh != std::string::npos);
  bad.insert(bad.find("\"size\":", seventh) + 7, "-");
  std::string later = bad;  // a second bad region after the first
  const std::string ninth = "\"name\":\"layer/9/w\"";
  later.replace(later.find(ninth), ninth.size(), "\"name\":\"\"");
  for (const auto& t : {bad, regions_first(bad), later, regions_first(later)})
    VT_CHECK_ERROR(parse_manifest(t, true), ErrorKind::Format, "regions[7].size is not an unsigned integer");
  // "version" follows "regions" in the text but is checked first.
  std::string both = bad;
  both.replace(both.find("\"version\":1"), 11, "\"version\":2");
  VT_CHECK_ERROR(parse_manifest(both, true), ErrorKind::Format, "manifest version 2 is not supported");
  // A region_defaults that is not an object is reported before any region.
  std::string nd = bad;
  nd.replace(nd.find("\"region_defaults\":{"), 19, "\"region_defaults\":[1],\"x\":{");
  VT_CHECK_ERROR(parse_manifest(nd, true), ErrorKind::Format, "region_defaults is not an object");
}

TEST_CASE("manifest: a repeated regions or region_defaults member reads as the whole tree reads it") {
  const std::string text = encode_manifest(sample_meta(), sample_regions(), true);
  // JSON objects with a repeated member keep the last one.
  std::string twice = text;
  twice.insert(twice.find("\"regions\":"), "\"regions\":[{\"name\":\"only\",\"size\":1}],");
  auto m = parse_manifest(twice, true);
  REQUIRE_MESSAGE(m.ok(), message_of(m));
  CHECK(m->regions.size() == sample_regions().size());
  std::string one_first = text;
  one_first.insert(one_first.size() - 1, ",\"regions\":[{\"name\":\"only\",\"size\":1}]");
  auto m2 = parse_manifest(one_first, true);
  REQUIRE_MESSAGE(m2.ok(), message_of(m2));
  REQUIRE(m2->regions.size() == 1);
  CHECK(m2->regions[0].name == "only");
  CHECK(m2->regions[0].kind == vramsnap::RegionKind::Device);  // the default
  // A second region_defaults: the last one applies.
  std::string dd = text;
  dd.insert(dd.find("\"region_defaults\":"), "\"region_defaults\":{\"kind\":\"host\"},");
  CHECK(reencode(parse_manifest(dd, true)) == text);
  std::string dd2 = text;
  dd2.insert(dd2.size() - 1, ",\"region_defaults\":{\"kind\":\"other\",\"device\":0,\"dtype\":\"bf16\"}");
  auto m3 = parse_manifest(dd2, true);
  REQUIRE_MESSAGE(m3.ok(), message_of(m3));
  CHECK(m3->regions[1].kind == vramsnap::RegionKind::Other);
}

namespace {

// A manifest holding one regions array (its elements given as JSON text).
std::string with_regions(const std::string& elements) {
  return R"({"format":"vramsnap-manifest","version":1,"snapshot_id":"0123456789abcdef0011223344556677",)"
         R"("created":"c","tool":"t","generation":0,"regions":[)" + elements + "]}";
}

}  // namespace

TEST_CASE("manifest: a region's members read as a JSON tree holds them") {
  // A repeated member keeps its last value; "-0" is an unsigned 0.
  auto m = parse_manifest(with_regions(R"({"name":"a","size":"x","size":4,"kind":"host","shape":[9],"shape":[2],)"
                                       R"("dtype":"bf16","va":null,"flags":["warm","future"],"device":-1})"));
  REQUIRE_MESSAGE(m.ok(), message_of(m));
  REQUIRE(m->regions.size() == 1);
  CHECK(m->regions[0].size == 4);
  CHECK(m->regions[0].shape == std::vector<uint64_t>{2});
  CHECK(m->regions[0].flags == vramsnap::kFlagWarm);
  CHECK(!m->regions[0].va);
  m = parse_manifest(with_regions(R"({"x":{"name":5,"size":[]},"name":"z","kind":"other","size":-0,"labels":{"b":"2"}})"));
  REQUIRE_MESSAGE(m.ok(), message_of(m));
  CHECK(m->regions[0].name == "z");
  CHECK(m->regions[0].size == 0);
  CHECK(m->regions[0].labels == std::map<std::string, std::string>{{"b", "2"}});
  const std::string ok = R"({"name":"a","kind":"host","size":4},)";
  const std::pair<std::string, std::string> bad[] = {
      {R"(1)", "regions[1] is not an object"},
      {R"([{"name":"a"}])", "regions[1] is not an object"},
      {R"({"name":"b","kind":"host","size":4,"shape":[1,[2]]})", "regions[1].shape holds a value that is not an unsigned integer"},
      {R"({"name":"b","kind":"host","size":4,"shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"x"]})", "regions[1].shape has rank 17 (at most 16)"},
      {R"({"name":"b","kind":"host","size":4,"shape":{}})", "regions[1].shape is not an array"},
      {R"({"name":"b","kind":"host","size":4,"labels":{"b":"2","a":1}})", "regions[1].labels.a is not a string"},
      {R"({"name":"b","kind":"host","size":4,"labels":null})", "regions[1].labels is not an object"},
      {R"({"name":"b","kind":"host","size":4,"device":null})", "regions[1].device is not an integer in -1..1023"},
      {R"({"name":"b","kind":"host","size":4,"device":1024})", "regions[1].device is not an integer in -1..1023"},
      {R"({"name":"b","kind":"host","size":4,"alloc_size":null})", "regions[1]: alloc_base and alloc_size go together"},
      {R"({"name":"b","kind":"host","size":4,"flags":["warm",1]})", "regions[1].flags holds a non-string"},
      {R"({"name":"b","kind":null,"size":4})", "regions[1].kind is not a string"},
      {R"({"name":"b","kind":"gpu","size":4})", "regions[1].kind \"gpu\" is not device, host, module or other"},
      {R"({"name":"b","kind":"host","size":-1})", "regions[1].size is not an unsigned integer"},
      {R"({"name":"b","kind":"host"})", "regions[1]: missing \"size\""},
      {R"({"name":"b","kind":"host","size":4,"va":"0x"})", "regions[1].va is not a hex string like"},
      {R"({"name":"a","kind":"host","size":4,"dtype":"Q"})", "regions[1]: region \"a\": dtype"},
  };
  for (const auto& c : bad) {
    CAPTURE(c.first);
    VT_CHECK_ERROR(parse_manifest(with_regions(ok + c.first)), ErrorKind::Format, c.second);
  }
}
