// restore() to host memory and extract() to files: byte-identical round trips
// for every codec, partial restores, ownership, extract file names and the
// attacks on them, cancellation, I/O faults, concurrency and files that change
// while they are read, at the library level.
#include "test_support.h"

#include <atomic>
#include <set>
#include <thread>

#include "fault_guard.h"
#include "io/memory.h"

using namespace vtest;
using vramsnap::CodecChoice;
using vramsnap::RestoreOptions;
using vramsnap::Snapshot;
namespace fault = vramsnap::io::fault;

namespace {

// Regions of every dtype and awkward size, plus zero, empty, incompressible
// and mixed ones. With 64 KiB chunks: 1 byte, one partial chunk, exactly one
// chunk, one chunk and one byte, and many chunks.
std::vector<RegionData> roundtrip_regions() {
  std::vector<RegionData> v;
  const uint64_t sizes[] = {1, 4097, 65536, 65537, 5 * 65536 + 3};
  uint32_t seed = 100;
  for (const char* dtype : {"bf16", "f32", "f64", "u8"}) {
    for (uint64_t n : sizes) {
      Bytes b;
      const std::string d = dtype;
      if (d == "bf16") b = bf16_like(n, ++seed);
      else if (d == "f32") b = f32_like(n, ++seed);
      else if (d == "f64") b = f64_like(n, ++seed);
      else b = text_like(n, ++seed);
      v.push_back(region(d + "/" + std::to_string(n), std::move(b), d));
    }
  }
  v.push_back(region("zero", Bytes(200000, 0), "f32"));
  v.push_back(region("empty", {}, "bf16"));
  v.push_back(region("random", random_bytes(70000, 9), "u8"));
  Bytes mixed(3 * 65536, 0);
  Bytes r = bf16_like(65536, 10);
  std::copy(r.begin(), r.end(), mixed.begin() + 65536);
  v.push_back(region("mixed", std::move(mixed), "bf16"));
  return v;
}

void check_restored(const vramsnap::Restored& r, const std::vector<RegionData>& regions) {
  REQUIRE(r.regions().size() == regions.size());
  for (size_t i = 0; i < regions.size(); ++i) {
    CAPTURE(regions[i].meta.name);
    const auto& rr = r.regions()[i];
    CHECK(rr.index == i);
    CHECK(rr.meta->name == regions[i].meta.name);
    CHECK(rr.meta->size == regions[i].bytes.size());
    if (!regions[i].bytes.empty()) {
      REQUIRE(rr.host != nullptr);
      CHECK(std::memcmp(rr.host, regions[i].bytes.data(), regions[i].bytes.size()) == 0);
    }
    CHECK(r.find(regions[i].meta.name) == &rr);
  }
}

// File names for extract, implemented from section 7.7 of the spec.
std::string spec_file_name(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool plain = std::isalnum(c) || c == '_' || c == '-' || c == '+' || (c == '.' && i != 0);
    if (plain && c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      char e[4];
      std::snprintf(e, sizeof e, "%%%02X", c);
      out += e;
    }
  }
  if (out.size() > 200) {
    size_t cut = 183;
    const size_t pct = out.rfind('%', cut - 1);
    if (pct != std::string::npos && pct + 3 > cut) cut = pct;
    out = out.substr(0, cut) + "~" + hex(h8(as_bytes(name)));
  }
  return out;
}

// Runs restore; on success checks the bytes. Returns the status.
vramsnap::Status restore_and_check(const Snapshot& snap, const RestoreOptions& ro,
                                   const std::vector<RegionData>& regions) {
  auto r = vramsnap::restore(snap, ro);
  if (!r.ok()) return std::move(r).error();
  check_restored(*r, regions);
  return {};
}

}  // namespace

// ---- round trips ---------------------------------------------------------------------

TEST_CASE("restore: f16 weights under planes use the split layout: bit 5 and minor 6 set, restored exactly") {
  TempDir dir("rst-f16");
  // f16 of N(0, 0.02) with a tenth +0 or -0 (round to zero), two chunks.
  Bytes f16(2 * 3 * 65536);
  uint32_t x = 7;
  for (size_t i = 0; i < f16.size() / 2; ++i) {
    x = x * 1664525u + 1013904223u;
    const float v = (float(x >> 8) / float(1u << 24) - 0.5f) * 0.08f;
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    const int exp = int((bits >> 23) & 255) - 127 + 15;
    uint16_t h = uint16_t((bits >> 16) & 0x8000);
    if (exp > 0 && x % 10) h |= uint16_t(exp << 10 | ((bits >> 13) & 0x3ff));
    f16[2 * i] = uint8_t(h);
    f16[2 * i + 1] = uint8_t(h >> 8);
  }
  for (const bool with_f16 : {true, false}) {
    CAPTURE(with_f16);
    std::vector<RegionData> regions = {region("w/bf16", bf16_like(40000, 3), "bf16")};
    if (with_f16) regions.push_back(region("w/f16", f16, "f16"));
    auto opt = capture_options();
    opt.codec = CodecChoice::Planes;
    const std::string p = dir / (with_f16 ? "f16.snap" : "bf16.snap");
    auto sum = capture(p, regions, opt);
    REQUIRE_MESSAGE(sum.ok(), message_of(sum));
    auto snap = open_ok(p);
    CHECK(bool(snap.meta().required_features & (uint64_t{1} << 5)) == with_f16);
    CHECK(snap.meta().minor == (with_f16 ? 6 : 4));
    auto r = vramsnap::restore(snap, unsealed_restore());
    REQUIRE_MESSAGE(r.ok(), message_of(r));
    check_restored(*r, regions);
  }
}


TEST_CASE("restore: every codec round-trips every dtype and size, to memory and to files") {
  TempDir dir("rst");
  const auto regions = roundtrip_regions();
  struct C {
    CodecChoice choice;
    const char* name;
  };
  for (const C& c : {C{CodecChoice::Auto, "auto"}, C{CodecChoice::Raw, "raw"}, C{CodecChoice::Zstd, "zstd"},
                     C{CodecChoice::Shuffle, "shuffle"}, C{CodecChoice::Planes, "planes"},
                     C{CodecChoice::Palette, "palette"}}) {
    const std::string codec_name = c.name;
    CAPTURE(codec_name);
    auto opt = capture_options();
    opt.codec = c.choice;
    const std::string p = dir / (codec_name + ".snap");
    auto sum = capture(p, regions, opt);
    REQUIRE_MESSAGE(sum.ok(), message_of(sum));
    auto snap = open_ok(p);

    std::array<size_t, 6> used{};
    for (const auto& ch : snap.chunks()) ++used[static_cast<size_t>(ch.codec)];
    const size_t zero = used[0], raw = used[1], zstd = used[2], shuffle = used[3], planes = used[4],
                 palette = used[5];
    CAPTURE(zero);
    CAPTURE(raw);
    CAPTURE(zstd);
    CAPTURE(shuffle);
    CAPTURE(planes);
    CAPTURE(palette);
    // Every path of the decoder is exercised by the choice that should use it.
    switch (c.choice) {
      case CodecChoice::Raw: CHECK(raw == snap.chunks().size()); break;
      case CodecChoice::Zstd: CHECK((zstd > 0 && zero > 0 && shuffle == 0)); break;
      case CodecChoice::Shuffle: CHECK((shuffle > 0 && zstd > 0 && zero > 0)); break;
      case CodecChoice::Planes: CHECK((planes > 0 && shuffle == 0 && zstd > 0 && zero > 0)); break;
      // Weights of many values: palette declines, planes takes them.
      case CodecChoice::Palette: CHECK((planes > 0 && shuffle == 0 && zstd > 0 && zero > 0)); break;
      case CodecChoice::Auto: CHECK((shuffle + planes > 0 && zstd > 0 && zero > 0 && raw > 0)); break;
    }
    CHECK(snap.region_chunks(snap.find_region("empty")).empty());
    CHECK(snap.region_chunks(snap.find_region("bf16/65536")).size() == 1);
    CHECK(snap.region_chunks(snap.find_region("u8/327683")).size() == 6);

    auto v = vramsnap::verify(snap, unsealed_verify(true));
    REQUIRE_MESSAGE(v.ok(), message_of(v));

    for (unsigned threads : {1u, 2u}) {
      CAPTURE(threads);
      RestoreOptions ro = unsealed_restore();
      ro.threads = threads;
      auto r = vramsnap::restore(snap, ro);
      REQUIRE_MESSAGE(r.ok(), message_of(r));
      check_restored(*r, regions);
      CHECK(r->stats().chunks == snap.chunks().size());
    }

    const std::string out = dir / ("x-" + codec_name);
    auto files = vramsnap::extract(snap, out, unsealed_restore());
    REQUIRE_MESSAGE(files.ok(), message_of(files));
    REQUIRE(files->size() == regions.size());
    for (size_t i = 0; i < regions.size(); ++i) {
      CAPTURE(regions[i].meta.name);
      CHECK((*files)[i].region == regions[i].meta.name);
      CHECK((*files)[i].path == out + "/" + spec_file_name(regions[i].meta.name));
      CHECK((*files)[i].size == regions[i].bytes.size());
      CHECK(read_file((*files)[i].path) == regions[i].bytes);
    }
    CHECK(list_dir(out).size() == regions.size());  // no temp files left
  }
}

TEST_CASE("restore: a sealed snapshot, and a snapshot without regions") {
  TempDir dir("rst");
  const auto key = make_key(key_bytes(3));
  auto opt = capture_options();
  opt.key = &key;
  std::vector<RegionData> regions = {region("a", bf16_like(100000, 1), "bf16"), region("b", text_like(3000), "u8")};
  make_snapshot(dir / "s.snap", regions, opt);
  auto snap = open_ok(dir / "s.snap");
  RestoreOptions ro;
  ro.key = &key;
  auto r = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(r.ok(), message_of(r));
  check_restored(*r, regions);

  // The smallest valid file (spec section 2): no regions, 4896 bytes.
  const Bytes empty = make_snapshot(dir / "empty.snap", {});
  CHECK(empty.size() == 4896);
  auto es = open_ok(dir / "empty.snap");
  CHECK(es.regions().empty());
  auto er = vramsnap::restore(es, unsealed_restore());
  REQUIRE(er.ok());
  CHECK(er->regions().empty());
  auto ef = vramsnap::extract(es, dir / "ex", unsealed_restore());
  REQUIRE(ef.ok());
  CHECK(ef->empty());
  CHECK(list_dir(dir / "ex").empty());
}

// ---- partial restore, allocator, ownership --------------------------------------------

TEST_CASE("restore: selected regions only; unknown names are usage errors") {
  TempDir dir("rst");
  const auto regions = roundtrip_regions();
  make_snapshot(dir / "p.snap", regions);
  auto snap = open_ok(dir / "p.snap");
  RestoreOptions ro = unsealed_restore();
  ro.regions = {"u8/65537", "empty", "bf16/1", "u8/65537"};
  auto r = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(r.ok(), message_of(r));
  REQUIRE(r->regions().size() == 3);  // once each, in snapshot order
  CHECK(r->regions()[0].meta->name == "bf16/1");
  CHECK(r->regions()[1].meta->name == "u8/65537");
  CHECK(r->regions()[2].meta->name == "empty");
  for (const auto& rr : r->regions()) {
    const auto& want = regions[rr.index];
    CHECK(rr.meta->name == want.meta.name);
    if (rr.meta->size) CHECK(std::memcmp(rr.host, want.bytes.data(), want.bytes.size()) == 0);
  }
  CHECK(r->find("f32/1") == nullptr);
  CHECK(r->stats().chunks == 1 + 2);

  ro.regions = {"u8/65537", "no/such/region"};
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Usage, "no region named \"no/such/region\"");
  VT_CHECK_ERROR(vramsnap::extract(snap, dir / "x", ro), ErrorKind::Usage, "no region named");
  CHECK_FALSE(path_exists(dir / "x"));
  ro.regions = {""};
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Usage, "no region named \"\"");

  // extract of a selection writes only those files.
  ro.regions = {"f64/4097", "zero"};
  auto files = vramsnap::extract(snap, dir / "sel", ro);
  REQUIRE_MESSAGE(files.ok(), message_of(files));
  CHECK(list_dir(dir / "sel") == std::vector<std::string>{"f64%2F4097", "zero"});
}

TEST_CASE("restore: a restored region's metadata outlives the Snapshot") {
  TempDir dir("rst");
  const auto regions = roundtrip_regions();
  make_snapshot(dir / "m.snap", regions);
  std::optional<vramsnap::Restored> r;
  {
    auto snap = open_ok(dir / "m.snap");
    auto restored = vramsnap::restore(snap, unsealed_restore());
    REQUIRE_MESSAGE(restored.ok(), message_of(restored));
    CHECK(restored->regions()[0].meta == &snap.regions()[0]);  // the snapshot's own entry, not a copy
    r.emplace(std::move(*restored));
  }
  REQUIRE(r->regions().size() == regions.size());
  for (const auto& rr : r->regions()) {
    CHECK(rr.meta->name == regions[rr.index].meta.name);
    CHECK(rr.meta->size == regions[rr.index].bytes.size());
  }
  CHECK(r->find(regions.back().meta.name) == &r->regions().back());
}

TEST_CASE("restore: host_allocator places regions in caller-owned memory") {
  TempDir dir("rst");
  const auto regions = roundtrip_regions();
  make_snapshot(dir / "a.snap", regions);
  auto snap = open_ok(dir / "a.snap");
  std::vector<std::unique_ptr<Bytes>> mine;
  std::set<std::string> asked;
  RestoreOptions ro = unsealed_restore();
  ro.host_allocator = [&](const vramsnap::RegionMeta& m) -> void* {
    asked.insert(m.name);
    if (m.dtype == "f64") return nullptr;  // let the library allocate these
    mine.push_back(std::make_unique<Bytes>(m.size + 16, 0xEE));
    return mine.back()->data();
  };
  {
    auto r = vramsnap::restore(snap, ro);
    REQUIRE_MESSAGE(r.ok(), message_of(r));
    check_restored(*r, regions);
    CHECK(asked.size() == regions.size());
    size_t k = 0;
    for (const auto& rr : r->regions()) {
      CAPTURE(rr.meta->name);
      if (rr.meta->dtype == "f64") {
        CHECK_FALSE(rr.caller_owned);
      } else {
        CHECK(rr.caller_owned);
        CHECK(rr.host == mine[k]->data());
        // Nothing written past the region.
        CHECK((*mine[k])[rr.meta->size] == 0xEE);
        ++k;
      }
    }
  }
  // The library freed its own buffers, never the caller's: they are intact.
  size_t k = 0;
  for (const auto& reg : regions) {
    if (reg.meta.dtype == "f64") continue;
    if (!reg.bytes.empty()) CHECK(std::memcmp(mine[k]->data(), reg.bytes.data(), reg.bytes.size()) == 0);
    ++k;
  }
}

TEST_CASE("restore: host memory is budgeted from declared sizes before anything is allocated") {
  TempDir dir("rst");
  const auto regions = roundtrip_regions();
  make_snapshot(dir / "m.snap", regions);
  auto snap = open_ok(dir / "m.snap");
  uint64_t total = 0;
  for (const auto& r : regions) total += r.meta.size;

  RestoreOptions ro = unsealed_restore();
  ro.max_host_bytes = total;  // exactly enough
  auto ok = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(ok.ok(), message_of(ok));
  check_restored(*ok, regions);

  ro.max_host_bytes = total - 1;
  VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Limit, "bytes of host memory");

  // Regions the caller places itself do not count against the budget.
  std::vector<std::unique_ptr<Bytes>> mine;
  ro.max_host_bytes = 1;
  ro.host_allocator = [&](const vramsnap::RegionMeta& m) -> void* {
    mine.push_back(std::make_unique<Bytes>(m.size + 1));
    return mine.back()->data();
  };
  auto placed = vramsnap::restore(snap, ro);
  REQUIRE_MESSAGE(placed.ok(), message_of(placed));
  check_restored(*placed, regions);
}

TEST_CASE("restore: a file declaring a TiB of zero chunks is refused, not allocated") {
  // 4096 zero chunks of 256 MiB in a file of a few hundred KiB. Unsealed, so
  // only --allow-unsealed callers meet it, but it must not exhaust memory.
  TempDir dir("rst");
  const Bytes f = make_snapshot(dir / "z.snap", {region("zero", Bytes(64 * KiB, 0), "u8")});
  SnapFile s = parse(f);
  REQUIRE(s.records.size() == 1);
  REQUIRE(s.records[0].codec == 0);
  const uint64_t chunk = L::kMaxChunkRawSize, count = 4096;
  Record zero = s.records[0];
  s.records.clear();
  for (uint64_t i = 0; i < count; ++i) {
    zero.region_offset = i * chunk;
    zero.raw_size = chunk;
    s.records.push_back(zero);
  }
  auto m = s.manifest_json();
  m["regions"][0]["size"] = chunk * count;
  s.set_manifest(m);
  write_file(dir / "bomb.snap", build(s));

  auto snap = open_ok(dir / "bomb.snap");
  REQUIRE(snap.regions()[0].size == 1ull << 40);
  const auto avail = vramsnap::io::available_host_memory();
  REQUIRE(avail.has_value());  // Linux: /proc/meminfo
  if (*avail >= (1ull << 40)) return;  // a machine with a TiB free can hold it
  VT_CHECK_ERROR(vramsnap::restore(snap, unsealed_restore()), ErrorKind::Limit, "the memory available now");
}

TEST_CASE("restore: release() hands the library's host block to the caller, who frees it") {
  TempDir dir("rst");
  const std::vector<RegionData> regions = {region("a", bf16_like(70000, 1), "bf16"), region("b", text_like(5000), "u8"),
                                           region("z", Bytes(65536, 0), "u8"), region("e", {}, "u8")};
  make_snapshot(dir / "r.snap", regions);
  auto snap = open_ok(dir / "r.snap");
  std::vector<void*> owned;
  void* block = nullptr;
  {
    auto r = vramsnap::restore(snap, unsealed_restore());
    REQUIRE(r.ok());
    // One allocation for every region, each at an aligned offset in it.
    REQUIRE(r->host_blocks().size() == 1);
    block = r->host_blocks()[0];
    r->release();
    CHECK(r->host_blocks().size() == 1);
    // Still readable through the handle after release.
    check_restored(*r, regions);
    for (const auto& rr : r->regions()) {
      CHECK_FALSE(rr.caller_owned);
      if (!rr.host) continue;
      owned.push_back(rr.host);
      CHECK(reinterpret_cast<uintptr_t>(rr.host) % (rr.meta->size >= 4096 ? 4096 : 64) == 0);
    }
    CHECK(owned.size() == 3);
    CHECK(owned[0] == block);
    // Moving a released handle around frees nothing either.
    vramsnap::Restored moved = std::move(*r);
    CHECK(moved.regions().size() == 4);
  }
  // After the handle is gone the memory is still ours (ASan would report a
  // use after free otherwise); we free it with free().
  for (size_t i = 0; i < owned.size(); ++i)
    CHECK(std::memcmp(owned[i], regions[i].bytes.data(), regions[i].bytes.size()) == 0);
  std::free(block);
  // Without release the destructor frees (ASan's leak check would see otherwise).
  {
    auto r = vramsnap::restore(snap, unsealed_restore());
    REQUIRE(r.ok());
    vramsnap::Restored a = std::move(*r);
    vramsnap::Restored b;
    b = std::move(a);
    check_restored(b, regions);
  }
}

// ---- extract: names, symlinks, existing files ----------------------------------------

TEST_CASE("restore: extract turns tricky region names into files inside DIR only") {
  TempDir dir("rst");
  std::string multi;  // 255 bytes: 127 x "é" + "x"
  for (int i = 0; i < 127; ++i) multi += "\xc3\xa9";
  multi += "x";
  const std::vector<std::string> names = {
      "a/b", "a%2Fb", "..x", ".hidden", "con", "NUL", "caf\xc3\xa9 kv", "\xe6\x97\xa5\xe6\x9c\xac/\xe3\x83\x86",
      "a~b", "50% done", "layers/0/attn.wq", "x.", "-rf", "a b c", std::string(250, 'a'), std::string(251, 'a'), multi,
      // '%2F' straddling the 183-byte cut (at 180, 181 and 182): the cut never splits an escape.
      std::string(180, 'b') + "/" + std::string(70, 'c'), std::string(181, 'b') + "/" + std::string(70, 'c'),
      std::string(182, 'b') + "/" + std::string(70, 'c'),
  };
  std::vector<RegionData> regions;
  for (size_t i = 0; i < names.size(); ++i)
    regions.push_back(region(names[i], random_bytes(100 + i, static_cast<uint32_t>(i)), "u8"));
  REQUIRE(multi.size() == 255);
  make_snapshot(dir / "n.snap", regions);
  auto snap = open_ok(dir / "n.snap");
  // Spec table (section 7.7).
  CHECK(spec_file_name("layers/0/attn.wq") == "layers%2F0%2Fattn.wq");
  CHECK(spec_file_name(".hidden") == "%2Ehidden");
  CHECK(spec_file_name("caf\xc3\xa9 kv") == "caf%C3%A9%20kv");
  CHECK(spec_file_name("a~b") == "a%7Eb");
  CHECK(spec_file_name(std::string(250, 'a')) == std::string(183, 'a') + "~3f3e35e0a775d9b1");

  const std::string out = dir / "out";
  auto files = vramsnap::extract(snap, out, unsealed_restore());
  REQUIRE_MESSAGE(files.ok(), message_of(files));
  std::vector<std::string> want;
  for (const auto& r : regions) want.push_back(spec_file_name(r.meta.name));
  std::set<std::string> distinct(want.begin(), want.end());
  CHECK(distinct.size() == want.size());
  std::sort(want.begin(), want.end());
  CHECK(list_dir(out) == want);
  for (const auto& f : *files) {
    CAPTURE(f.path);
    const std::string base = f.path.substr(out.size() + 1);
    CHECK(base.find('/') == std::string::npos);
    CHECK(base.size() <= 200);
    CHECK(base[0] != '.');
    struct stat st {};
    REQUIRE(::lstat(f.path.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    const auto& r = regions[static_cast<size_t>(snap.find_region(f.region))];
    CHECK(read_file(f.path) == r.bytes);
  }
  // Nothing was created next to DIR.
  CHECK(list_dir(dir.path) == std::vector<std::string>{"n.snap", "out"});
}

TEST_CASE("restore: extract does not follow a symlink planted in DIR") {
  TempDir dir("rst");
  const std::vector<RegionData> regions = {region("a/b", random_bytes(5000, 1), "u8"), region("w", bf16_like(70000), "bf16")};
  make_snapshot(dir / "s.snap", regions);
  auto snap = open_ok(dir / "s.snap");
  const std::string victim = dir / "victim";
  write_file(victim, std::string_view("do not touch"));
  const std::string out = dir / "out";
  std::filesystem::create_directory(out);

  SUBCASE("symlink at the final name") {
    REQUIRE(::symlink("../victim", (out + "/a%2Fb").c_str()) == 0);
    VT_CHECK_ERROR(vramsnap::extract(snap, out, unsealed_restore()), ErrorKind::IO, "exists; refusing to overwrite it");
    CHECK(list_dir(out) == std::vector<std::string>{"a%2Fb"});
  }
  SUBCASE("dangling symlink at the final name") {
    REQUIRE(::symlink("../created-through-link", (out + "/w").c_str()) == 0);
    VT_CHECK_ERROR(vramsnap::extract(snap, out, unsealed_restore()), ErrorKind::IO, "exists");
    CHECK_FALSE(path_exists(dir / "created-through-link"));
    CHECK(list_dir(out) == std::vector<std::string>{"w"});
  }
  SUBCASE("symlinks at the temporary names") {
    // Links at predictable temporary names (".<name>.vramsnap-<pid>-<n>", the
    // extractor's earlier naming): whatever staging the extractor uses, it must
    // neither write through them nor trip over them.
    for (int attempt = 0; attempt < 5; ++attempt)
      for (const char* n : {"a%2Fb", "w"})
        REQUIRE(::symlink("../victim", (out + "/." + n + ".vramsnap-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(attempt)).c_str()) == 0);
    auto files = vramsnap::extract(snap, out, unsealed_restore());
    REQUIRE_MESSAGE(files.ok(), message_of(files));
    CHECK(read_file(out + "/a%2Fb") == regions[0].bytes);
    CHECK(read_file(out + "/w") == regions[1].bytes);
    CHECK(list_dir(out).size() == 12);  // 10 planted links + 2 files
  }
  CHECK(read_file(victim) == Bytes{'d', 'o', ' ', 'n', 'o', 't', ' ', 't', 'o', 'u', 'c', 'h'});
}

TEST_CASE("restore: extract never overwrites an existing file") {
  TempDir dir("rst");
  const std::vector<RegionData> regions = {region("first", random_bytes(3000, 1), "u8"), region("con", text_like(90000), "u8")};
  make_snapshot(dir / "s.snap", regions);
  auto snap = open_ok(dir / "s.snap");
  const std::string out = dir / "out";
  std::filesystem::create_directory(out);
  write_file(out + "/con", std::string_view("keep me"));
  VT_CHECK_ERROR(vramsnap::extract(snap, out, unsealed_restore()), ErrorKind::IO, "con exists");
  CHECK(read_file(out + "/con") == Bytes{'k', 'e', 'e', 'p', ' ', 'm', 'e'});
  CHECK(list_dir(out) == std::vector<std::string>{"con"});
  // A directory at the name, too.
  std::filesystem::remove(out + "/con");
  std::filesystem::create_directory(out + "/con");
  VT_CHECK_ERROR(vramsnap::extract(snap, out, unsealed_restore()), ErrorKind::IO, "exists");
  CHECK(list_dir(out) == std::vector<std::string>{"con"});
  // A file that appears at a final name while the extraction runs (after the
  // up-front check): the final rename must not replace it, and the file
  // already moved into place for the other region is taken back.
  std::filesystem::remove_all(out + "/con");
  for (bool as_symlink : {false, true}) {
    CAPTURE(as_symlink);
    RestoreOptions ro = unsealed_restore();
    ro.threads = 1;
    bool planted = false;
    ro.progress = [&](const vramsnap::Progress&) {
      if (planted) return;
      planted = true;
      if (as_symlink)
        REQUIRE(::symlink("../victim", (out + "/con").c_str()) == 0);
      else
        write_file(out + "/con", std::string_view("planted"));
    };
    VT_CHECK_ERROR(vramsnap::extract(snap, out, ro), ErrorKind::IO, "exists");
    CHECK(planted);
    CHECK(list_dir(out) == std::vector<std::string>{"con"});
    if (!as_symlink) CHECK(read_file(out + "/con") == Bytes{'p', 'l', 'a', 'n', 't', 'e', 'd'});
    CHECK_FALSE(path_exists(dir / "victim"));
    std::filesystem::remove(out + "/con");
  }
  // Extracting twice into the same directory: the second run refuses.
  REQUIRE(vramsnap::extract(snap, out, unsealed_restore()).ok());
  VT_CHECK_ERROR(vramsnap::extract(snap, out, unsealed_restore()), ErrorKind::IO, "exists");
  CHECK(list_dir(out) == std::vector<std::string>{"con", "first"});
}

// ---- cancellation ----------------------------------------------------------------------

TEST_CASE("restore: cancellation leaves nothing behind") {
  TempDir dir("rst");
  const std::vector<RegionData> regions = {region("a", bf16_like(8 * 65536, 1), "bf16"), region("b", text_like(4 * 65536), "u8")};
  make_snapshot(dir / "c.snap", regions);
  auto snap = open_ok(dir / "c.snap");

  SUBCASE("cancelled before it starts") {
    std::atomic<bool> cancel{true};
    RestoreOptions ro = unsealed_restore();
    ro.cancel = &cancel;
    VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Interrupted, "cancelled");
    const std::string out = dir / "out";
    std::filesystem::create_directory(out);
    VT_CHECK_ERROR(vramsnap::extract(snap, out, ro), ErrorKind::Interrupted, "cancelled");
    CHECK(list_dir(out).empty());
    vramsnap::VerifyOptions vo = unsealed_verify(true);
    vo.cancel = &cancel;
    VT_CHECK_ERROR(vramsnap::verify(snap, vo), ErrorKind::Interrupted, "cancelled");
  }
  SUBCASE("cancelled after the first chunk") {
    for (bool to_files : {false, true}) {
      CAPTURE(to_files);
      std::atomic<bool> cancel{false};
      int progress_calls = 0;
      RestoreOptions ro = unsealed_restore();
      ro.threads = 1;
      ro.cancel = &cancel;
      ro.progress = [&](const vramsnap::Progress& p) {
        ++progress_calls;
        CHECK(p.bytes_done < p.bytes_total);
        cancel = true;
      };
      int allocated = 0;
      std::vector<std::unique_ptr<Bytes>> bufs;
      ro.host_allocator = [&](const vramsnap::RegionMeta& m) -> void* {
        ++allocated;
        bufs.push_back(std::make_unique<Bytes>(m.size));
        return bufs.back()->data();
      };
      const std::string out = dir / (to_files ? "out2" : "unused");
      std::filesystem::create_directory(out);
      if (to_files) {
        VT_CHECK_ERROR(vramsnap::extract(snap, out, ro), ErrorKind::Interrupted, "cancelled");
        CHECK(list_dir(out).empty());
      } else {
        VT_CHECK_ERROR(vramsnap::restore(snap, ro), ErrorKind::Interrupted, "cancelled");
        CHECK(allocated == 2);
      }
      CHECK(progress_calls == 1);
    }
  }
  SUBCASE("capture cancelled part-way: no file, no temp file") {
    std::atomic<bool> cancel{false};
    auto opt = capture_options();
    opt.threads = 1;
    opt.cancel = &cancel;
    opt.progress = [&](const vramsnap::Progress&) { cancel = true; };
    const std::string cdir = dir / "cap";
    std::filesystem::create_directory(cdir);
    VT_CHECK_ERROR(capture(cdir + "/out.snap", regions, opt), ErrorKind::Interrupted, "cancelled");
    CHECK(list_dir(cdir).empty());
  }
}

// ---- I/O faults --------------------------------------------------------------------------

TEST_CASE("restore: EIO at any read is an I/O error and leaves nothing behind") {
  TempDir dir("rst");
  const std::vector<RegionData> regions = {region("raw", random_bytes(70000, 1), "u8"), region("w", bf16_like(3 * 65536, 2), "bf16"),
                                           region("z", Bytes(65536, 0), "u8"), region("t", text_like(20000), "u8")};
  const std::string p = dir / "f.snap";
  make_snapshot(p, regions);

  // open: every read it makes.
  int open_failures = 0;
  for (uint64_t n = 1; n < 50; ++n) {
    CAPTURE(n);
    vramsnap::Result<Snapshot> r = vramsnap::Error(ErrorKind::Usage, "");
    {
      FaultGuard g({fault::Kind::ReadEio, n});
      r = Snapshot::open(p);
    }
    if (r.ok()) break;
    ++open_failures;
    CHECK(r.error().kind() == ErrorKind::IO);
    CHECK(contains(r.error().message(), "read at offset"));
  }
  CHECK(open_failures == 3);  // the file's tail (seal block + trailer), table + manifest, header

  auto snap = open_ok(p);
  int restore_failures = 0;
  for (uint64_t n = 1; n < 100; ++n) {
    CAPTURE(n);
    RestoreOptions ro = unsealed_restore();
    vramsnap::Status st;
    {
      FaultGuard g({fault::Kind::ReadEio, n});
      st = restore_and_check(snap, ro, regions);
    }
    if (st.ok()) break;
    ++restore_failures;
    CHECK(st.error().kind() == ErrorKind::IO);
    CHECK(contains(st.error().message(), "chunk"));
  }
  CHECK(restore_failures >= 6);  // 6 stored chunks, raw ones read in two parts

  int extract_failures = 0;
  for (uint64_t n = 1; n < 100; ++n) {
    CAPTURE(n);
    const std::string out = dir / ("x" + std::to_string(n));
    std::filesystem::create_directory(out);
    vramsnap::Result<std::vector<vramsnap::ExtractedFile>> r = vramsnap::Error(ErrorKind::Usage, "");
    {
      FaultGuard g({fault::Kind::ReadEio, n});
      r = vramsnap::extract(snap, out, unsealed_restore());
    }
    if (r.ok()) {
      CHECK(list_dir(out).size() == regions.size());
      break;
    }
    ++extract_failures;
    CHECK(r.error().kind() == ErrorKind::IO);
    CHECK(list_dir(out).empty());
  }
  CHECK(extract_failures == restore_failures);

  int verify_failures = 0;
  for (uint64_t n = 1; n < 100; ++n) {
    vramsnap::Result<vramsnap::VerifyReport> r = vramsnap::Error(ErrorKind::Usage, "");
    {
      FaultGuard g({fault::Kind::ReadEio, n});
      r = vramsnap::verify(snap, unsealed_verify(true));
    }
    if (r.ok()) break;
    ++verify_failures;
    CHECK(r.error().kind() == ErrorKind::IO);
  }
  CHECK(verify_failures >= 6);

  // Short reads are retried: every position still gives the right bytes.
  for (uint64_t n = 1; n <= static_cast<uint64_t>(restore_failures) + 1; ++n) {
    CAPTURE(n);
    FaultGuard g({fault::Kind::ReadShort, n});
    auto st = restore_and_check(snap, unsealed_restore(), regions);
    CHECK_MESSAGE(st.ok(), message_of(st));
  }
  for (uint64_t n = 1; n <= static_cast<uint64_t>(open_failures) + 1; ++n) {
    FaultGuard g({fault::Kind::ReadShort, n});
    CHECK(Snapshot::open(p).ok());
  }
}

TEST_CASE("restore: ENOSPC or EIO at any write of a capture leaves no file and no temp file") {
  TempDir dir("rst");
  const std::vector<RegionData> regions = {region("raw", random_bytes(70000, 1), "u8"), region("w", bf16_like(3 * 65536, 2), "bf16"),
                                           region("z", Bytes(65536, 0), "u8")};
  for (fault::Kind kind : {fault::Kind::WriteEnospc, fault::Kind::WriteEio}) {
    const bool enospc = kind == fault::Kind::WriteEnospc;
    CAPTURE(enospc);
    const std::string cdir = dir / (enospc ? "enospc" : "eio");
    std::filesystem::create_directory(cdir);
    int failures = 0;
    for (uint64_t n = 1; n < 100; ++n) {
      CAPTURE(n);
      vramsnap::Result<vramsnap::CaptureSummary> r = vramsnap::Error(ErrorKind::Usage, "");
      {
        FaultGuard g({kind, n});
        r = capture(cdir + "/out.snap", regions);
      }
      if (r.ok()) {
        CHECK(list_dir(cdir) == std::vector<std::string>{"out.snap"});
        CHECK(open_ok(cdir + "/out.snap").regions().size() == 3);
        break;
      }
      ++failures;
      CHECK(r.error().kind() == ErrorKind::IO);
      if (enospc) CHECK(contains(r.error().message(), "no space left on device"));
      CHECK(list_dir(cdir).empty());
    }
    CHECK(failures >= 8);  // 5 stored chunks + header, table, manifest, padding, seal, trailer
  }
  // During extract, too.
  make_snapshot(dir / "s.snap", regions);
  auto snap = open_ok(dir / "s.snap");
  int failures = 0;
  for (uint64_t n = 1; n < 100; ++n) {
    const std::string out = dir / ("x" + std::to_string(n));
    std::filesystem::create_directory(out);
    vramsnap::Result<std::vector<vramsnap::ExtractedFile>> r = vramsnap::Error(ErrorKind::Usage, "");
    {
      FaultGuard g({fault::Kind::WriteEnospc, n});
      r = vramsnap::extract(snap, out, unsealed_restore());
    }
    if (r.ok()) break;
    ++failures;
    CHECK(r.error().kind() == ErrorKind::IO);
    CHECK(list_dir(out).empty());
  }
  CHECK(failures >= 5);
}

// ---- concurrency and files that change ---------------------------------------------------

TEST_CASE("restore: concurrent restores of one snapshot") {
  TempDir dir("rst");
  const auto key = make_key(key_bytes(9));
  auto opt = capture_options();
  opt.key = &key;
  const std::vector<RegionData> regions = {region("a", bf16_like(5 * 65536, 1), "bf16"), region("b", random_bytes(100000, 2), "u8"),
                                           region("c", text_like(150000), "u8")};
  make_snapshot(dir / "c.snap", regions, opt);
  const auto shared = open_ok(dir / "c.snap");
  constexpr int kThreads = 6;
  std::vector<std::string> errors(kThreads);
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < kThreads; ++t) {
      pool.emplace_back([&, t] {
        for (int round = 0; round < 3; ++round) {
          // Half the threads open their own Snapshot, half share one.
          auto own = Snapshot::open(dir / "c.snap");
          if (!own.ok()) { errors[t] = own.error().message(); return; }
          const Snapshot& snap = (t % 2) ? *own : shared;
          RestoreOptions ro;
          ro.key = &key;
          ro.threads = 1 + (t % 2);
          auto r = vramsnap::restore(snap, ro);
          if (!r.ok()) { errors[t] = r.error().message(); return; }
          for (size_t i = 0; i < regions.size(); ++i)
            if (std::memcmp(r->regions()[i].host, regions[i].bytes.data(), regions[i].bytes.size()) != 0) {
              errors[t] = "bytes differ in " + regions[i].meta.name;
              return;
            }
        }
      });
    }
  }
  for (int t = 0; t < kThreads; ++t) CHECK_MESSAGE(errors[t].empty(), "thread " << t << ": " << errors[t]);
}

TEST_CASE("restore: a file changed after open is caught (hashes cover the bytes used)") {
  TempDir dir("rst");
  const std::vector<RegionData> regions = {region("raw", random_bytes(70000, 1), "u8"), region("t", text_like(20000), "u8")};
  const std::string p = dir / "t.snap";
  const Bytes orig = make_snapshot(p, regions);
  const SnapFile sf = parse(orig);
  REQUIRE(sf.records[0].codec == 1);
  REQUIRE(sf.records[2].codec == 2);
  auto snap = open_ok(p);
  REQUIRE(restore_and_check(snap, unsealed_restore(), regions).ok());

  for (size_t chunk : {size_t(0), size_t(1), size_t(2)}) {
    CAPTURE(chunk);
    const uint64_t at = sf.records[chunk].stored_offset + sf.records[chunk].stored_size / 2;
    const Bytes evil = {static_cast<uint8_t>(orig[at] ^ 0x5a)};
    patch_file(p, at, evil);
    VT_CHECK_ERROR(vramsnap::restore(snap, unsealed_restore()), ErrorKind::Integrity, "SHA-256 mismatch");
    const std::string out = dir / ("x" + std::to_string(chunk));
    std::filesystem::create_directory(out);
    VT_CHECK_ERROR(vramsnap::extract(snap, out, unsealed_restore()), ErrorKind::Integrity, "SHA-256 mismatch");
    CHECK(list_dir(out).empty());
    patch_file(p, at, {orig.data() + at, 1});
    CHECK(restore_and_check(snap, unsealed_restore(), regions).ok());
  }
  // The path replaced by another valid snapshot: the opened file is still the one read.
  const std::vector<RegionData> other = {region("raw", random_bytes(70000, 5), "u8"), region("t", text_like(20000, 6), "u8")};
  make_snapshot(dir / "other.snap", other);
  REQUIRE(::rename((dir / "other.snap").c_str(), p.c_str()) == 0);
  CHECK(restore_and_check(snap, unsealed_restore(), regions).ok());
  // Truncated under the reader: an error, not a crash.
  auto snap2 = open_ok(p);
  REQUIRE(::truncate(p.c_str(), 8192) == 0);
  auto r = vramsnap::restore(snap2, unsealed_restore());
  REQUIRE_FALSE(r.ok());
  CHECK_MESSAGE((r.error().kind() == ErrorKind::Format || r.error().kind() == ErrorKind::Integrity), r.error().message());
}
