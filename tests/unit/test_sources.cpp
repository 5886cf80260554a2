// Capture sources: safetensors parsing (hostile files), sizes and --spec
// files. The --region grammar is the tool's: test_region_arg.cpp.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "source/sources.h"
#include "temp_dir.h"

using namespace vramsnap;
using namespace vramsnap::source;
using vtest::TempDir;

namespace {

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// A safetensors file: 8-byte length, header JSON, data buffer.
std::string st_bytes(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

std::string entry(const std::string& dtype, const std::string& shape, uint64_t begin, uint64_t end) {
  return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) + "," +
         std::to_string(end) + "]}";
}

// One tensor "t" with the given entry JSON, `data` bytes of data.
std::string one_tensor(const std::string& entry_json, size_t data = 64) {
  return st_bytes("{\"t\":" + entry_json + "}", std::string(data, '\0'));
}

void check_format_error(const std::string& path, const std::string& needle = "") {
  auto r = read_safetensors(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind() == ErrorKind::Format);
  CHECK(r.error().message().find(path) != std::string::npos);
  if (!needle.empty()) CHECK_MESSAGE(r.error().message().find(needle) != std::string::npos, r.error().message());
}

void check_spec_error(const std::string& spec_path, ErrorKind kind, const std::string& needle) {
  auto r = read_capture_spec(spec_path);
  REQUIRE_FALSE(r.ok());
  CHECK_MESSAGE(r.error().kind() == kind, r.error().message());
  CHECK(r.error().message().find(spec_path) != std::string::npos);
  CHECK_MESSAGE(r.error().message().find(needle) != std::string::npos, r.error().message());
}

}  // namespace

TEST_CASE("safetensors: valid file with assorted dtypes, shapes and names") {
  TempDir dir("sources");
  const std::string long_name(255, 'n');
  const std::string header = "{\"__metadata__\":{\"format\":\"pt\"},"
                             "\"a/b.c\":" + entry("BF16", "[2,3]", 0, 12) + ","
                             "\"gr\xC3\xB6\xC3\x9F" "e\":" + entry("F32", "[2]", 12, 20) + ","
                             "\"with space\":" + entry("I64", "[1]", 20, 28) + ","
                             "\"flag\":" + entry("BOOL", "[3]", 28, 31) + ","
                             "\"scalar\":" + entry("F32", "[]", 32, 36) + ","  // byte 31 uncovered: allowed
                             "\"empty\":" + entry("F16", "[0,5]", 36, 36) + ","
                             "\"" + long_name + "\":" + entry("U8", "[4]", 36, 40) + ","
                             "\"fp4\":" + entry("F4", "[8]", 40, 44) + "}";
  const std::string path = dir.file("m.safetensors", st_bytes(header, std::string(48, '\x5a')));

  auto r = read_safetensors(path);
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  const uint64_t base = 8 + header.size();
  CHECK(r->header_size == header.size());
  CHECK(r->data_offset == base);
  CHECK(r->metadata == std::map<std::string, std::string>{{"format", "pt"}});
  REQUIRE(r->tensors.size() == 8);

  struct Want {
    std::string name, dtype, original;
    std::vector<uint64_t> shape;
    uint64_t begin, size;
  };
  const std::vector<Want> want = {
      {"a/b.c", "bf16", "BF16", {2, 3}, 0, 12},
      {"gr\xC3\xB6\xC3\x9F" "e", "f32", "F32", {2}, 12, 8},
      {"with space", "i64", "I64", {1}, 20, 8},
      {"flag", "bool", "BOOL", {3}, 28, 3},
      {"scalar", "f32", "F32", {}, 32, 4},
      {"empty", "f16", "F16", {0, 5}, 36, 0},  // ties at 36 broken by name
      {long_name, "u8", "U8", {4}, 36, 4},
      {"fp4", "f4", "F4", {8}, 40, 4},  // unknown dtype: kept lowercased, size unchecked
  };
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    const auto& t = r->tensors[i];
    CHECK(t.name == want[i].name);
    CHECK(t.dtype == want[i].dtype);
    CHECK(t.original_dtype == want[i].original);
    CHECK(t.shape == want[i].shape);
    CHECK(t.file_offset == base + want[i].begin);
    CHECK(t.size == want[i].size);
  }

  auto regions = safetensors_regions(path);
  REQUIRE(regions.ok());
  REQUIRE(regions->size() == 8);
  const auto& first = (*regions)[0];
  CHECK(first.meta.name == "a/b.c");
  CHECK(first.meta.kind == RegionKind::Device);
  CHECK(first.meta.device == 0);
  CHECK(first.meta.dtype == "bf16");
  CHECK(first.meta.shape == std::vector<uint64_t>{2, 3});
  CHECK(first.meta.size == 12);
  CHECK(first.path == path);
  CHECK(first.offset == base);
  CHECK(first.meta.labels.empty());

  auto on_two = safetensors_regions(path, "", 2);
  REQUIRE(on_two.ok());
  CHECK((*on_two)[1].meta.name == "gr\xC3\xB6\xC3\x9F" "e");
  CHECK((*on_two)[1].meta.device == 2);

  // prefix + 255-byte name no longer fits a region name.
  auto too_long = safetensors_regions(path, "model.");
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.error().kind() == ErrorKind::Usage);
  CHECK(too_long.error().message().find("shorter prefix") != std::string::npos);
  auto bad_prefix = safetensors_regions(path, "p\n");
  REQUIRE_FALSE(bad_prefix.ok());
  CHECK(bad_prefix.error().kind() == ErrorKind::Usage);
}

TEST_CASE("safetensors: header padded with trailing spaces, null metadata, no tensors") {
  TempDir dir("sources");
  std::string header = "{\"w\":" + entry("F32", "[2,2]", 0, 16) + "}";
  header.append(8 - header.size() % 8 + 8, ' ');
  auto r = read_safetensors(dir.file("pad.safetensors", st_bytes(header, std::string(16, '\1'))));
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  REQUIRE(r->tensors.size() == 1);
  CHECK(r->tensors[0].file_offset == 8 + header.size());

  auto null_meta = read_safetensors(dir.file("nm.safetensors", st_bytes("{\"__metadata__\":null}", "")));
  REQUIRE_MESSAGE(null_meta.ok(), null_meta.error().message());
  CHECK(null_meta->tensors.empty());
}

TEST_CASE("safetensors: hostile files are Format errors naming the file") {
  TempDir dir("sources");
  int n = 0;
  auto bad = [&](const std::string& bytes, const std::string& needle = "") {
    const std::string path = dir.file("bad" + std::to_string(n++) + ".safetensors", bytes);
    CAPTURE(path);
    check_format_error(path, needle);
  };
  const std::string ok_entry = entry("F32", "[2]", 0, 8);

  SUBCASE("length prefix") {
    bad("", "too short");
    bad("1234567", "too short");
    bad(le64(0) + "{}", "header length is 0");
    bad(le64(100) + "{\"a\":1}", "past the end");
    bad(le64(UINT64_MAX) + "{}", "cap");
    bad(le64(kMaxSafetensorsHeader + 1) + std::string(64, ' '), "cap");
  }
  SUBCASE("JSON structure") {
    bad(st_bytes("not json", ""), "not valid JSON");
    bad(st_bytes("{\"t\":" + ok_entry + "} x", std::string(8, '\0')), "not valid JSON");
    bad(st_bytes("[1,2]", ""), "JSON object");
    bad(st_bytes("42", ""), "JSON object");
    bad(st_bytes("{\"__metadata__\":{\"k\":1}}", ""), "__metadata__");
    bad(st_bytes("{\"__metadata__\":[]}", ""), "__metadata__");
    bad(st_bytes("{\"t\":[1]}", ""), "entry must be an object");
    bad(st_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[[[1]]],\"data_offsets\":[0,0]}}", ""), "nested");
    std::string many = "1";
    for (int i = 0; i < 99; ++i) many += ",1";
    bad(st_bytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[" + many + "],\"data_offsets\":[0,1]}}", "x"),
        "more than 64 elements");
  }
  SUBCASE("tensor entries") {
    bad(one_tensor("{\"shape\":[2],\"data_offsets\":[0,8]}"), "missing \"dtype\"");
    bad(one_tensor("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}"), "missing \"shape\"");
    bad(one_tensor("{\"dtype\":\"F32\",\"shape\":[2]}"), "missing \"data_offsets\"");
    bad(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}"), "unknown key 'extra'");
    bad(one_tensor("{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}"), "dtype must be a string");
    bad(one_tensor(entry("F-32", "[2]", 0, 8)), "not a dtype name");
    bad(one_tensor(entry("", "[2]", 0, 8)), "not a dtype name");
    bad(one_tensor(entry("F32", "[-2]", 0, 8)), "negative");
    bad(one_tensor(entry("F32", "[2.0]", 0, 8)), "non-integer");
    bad(one_tensor(entry("F32", "[\"2\"]", 0, 8)), "string");
    bad(one_tensor(entry("F32", "[18446744073709551616]", 0, 8)), "non-integer or out-of-range");
    bad(one_tensor(entry("F32", "{}", 0, 8)), "shape must be an array");
    bad(one_tensor(entry("U8", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", 0, 1)), "more than 16");
    bad(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}"), "must have 2 elements");
    bad(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,8]}"), "negative");
    bad(one_tensor(entry("F32", "[2]", 8, 0)), "reversed");
    bad(one_tensor(entry("F32", "[2]", 60, 68)), "past the data buffer");
    bad(one_tensor(entry("F32", "[2]", 0, UINT64_MAX)), "past the data buffer");
    bad(one_tensor(entry("F32", "[3]", 0, 8)), "need 12 bytes");
    bad(one_tensor(entry("BF16", "[4294967296,4294967296,2]", 0, 8)), "overflows");
    bad(one_tensor(entry("U8", "[4294967296,4294967296]", 0, 8)), "overflows");
  }
  SUBCASE("overlaps and duplicates") {
    bad(st_bytes("{\"a\":" + entry("F32", "[2]", 0, 8) + ",\"b\":" + entry("F32", "[2]", 4, 12) + "}",
                 std::string(16, '\0')),
        "overlap");
    // b lies wholly inside a, and c after b but still inside a.
    bad(st_bytes("{\"a\":" + entry("U8", "[16]", 0, 16) + ",\"b\":" + entry("U8", "[2]", 2, 4) + ",\"c\":" +
                     entry("U8", "[2]", 8, 10) + "}",
                 std::string(16, '\0')),
        "overlap");
    bad(st_bytes("{\"a\":" + entry("F32", "[2]", 0, 8) + ",\"a\":" + entry("F32", "[2]", 8, 16) + "}",
                 std::string(16, '\0')),
        "duplicate tensor name 'a'");
    bad(st_bytes("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                 std::string(8, '\0')),
        "duplicate key 'dtype'");
    bad(st_bytes("{\"__metadata__\":{},\"__metadata__\":{}}", ""), "duplicate __metadata__");
  }
  SUBCASE("names") {
    auto named = [&](const std::string& name_json) {
      return st_bytes("{\"" + name_json + "\":" + ok_entry + "}", std::string(8, '\0'));
    };
    bad(named("a\\u0007b"), "control character");
    bad(named("a\\u007fb"), "control character");
    bad(named("a\\nb"), "control character");
    bad(named(""), "empty tensor name");
    bad(named("bad\xFF\xFE"), "not valid JSON");  // the JSON lexer refuses ill-formed UTF-8
    bad(named("\\ud800"), "not valid JSON");       // lone surrogate
    bad(named(std::string(256, 'n')), "longer than 255");
    bad(named(std::string(85, '\xE2') + "x"), "not valid JSON");
  }
}

TEST_CASE("safetensors: header parser checks lengths it is given") {
  CHECK(parse_safetensors_header("{}", 2, 10).ok());
  CHECK_FALSE(parse_safetensors_header("{}", 3, 10).ok());
  CHECK_FALSE(parse_safetensors_header("{}", 2, 9).ok());
  CHECK_FALSE(parse_safetensors_header("", 0, 8).ok());
}

TEST_CASE("safetensors: non-regular and missing files are IO errors") {
  TempDir dir("sources");
  auto missing = read_safetensors(dir / ("nope.safetensors"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind() == ErrorKind::IO);
  auto directory = read_safetensors(dir.path);
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().kind() == ErrorKind::IO);
  CHECK(directory.error().message().find("directory") != std::string::npos);
  const std::string fifo = dir / ("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = read_safetensors(fifo);  // must not block
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().kind() == ErrorKind::IO);
}

TEST_CASE("parse_size") {
  CHECK(parse_size("0") == 0u);
  CHECK(parse_size("1048576") == 1048576u);
  CHECK(parse_size("4096B") == 4096u);
  CHECK(parse_size("64k") == 65536u);
  CHECK(parse_size("64K") == 65536u);
  CHECK(parse_size("64KiB") == 65536u);
  CHECK(parse_size("4M") == 4u << 20);
  CHECK(parse_size("4m") == 4u << 20);
  CHECK(parse_size("4MiB") == 4u << 20);
  CHECK(parse_size("4Mi") == 4u << 20);
  CHECK(parse_size("1G") == 1ull << 30);
  CHECK(parse_size("1GiB") == 1ull << 30);
  CHECK(parse_size("2T") == 2ull << 40);
  CHECK(parse_size("1P") == 1ull << 50);
  CHECK(parse_size("15E") == 15ull << 60);
  CHECK(parse_size("0x100000") == 0x100000u);
  CHECK(parse_size("0XfF") == 255u);
  CHECK(parse_size("18446744073709551615") == UINT64_MAX);
  CHECK(parse_size("0xffffffffffffffff") == UINT64_MAX);

  for (const char* bad : {"", " ", "-1", "+1", "1.5G", "G", "0x", "0xg", "0x10M", "4MB", "4KB", "4 MiB", " 4M",
                          "4M ", "4Q", "4MiBs", "18446744073709551616", "0x10000000000000000", "16E", "17179869184G",
                          "abc", "1e6"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_size(bad).has_value());
  }
}

TEST_CASE("read_capture_spec: regions and safetensors with relative paths") {
  TempDir dir("sources");
  std::filesystem::create_directories(dir / ("deploy/weights"));
  dir.file("deploy/w.bin", std::string(256, 'w'));
  const std::string st_header = "{\"x\":" + entry("F32", "[4]", 0, 16) + ",\"y\":" + entry("I8", "[2]", 16, 18) + "}";
  dir.file("deploy/weights/m.safetensors", st_bytes(st_header, std::string(18, '\0')));
  const std::string spec = dir.file("deploy/spec.json", R"({
    "regions": [
      {"name": "kv", "path": "w.bin", "kind": "device", "dtype": "bf16", "shape": [8, 8],
       "va": "0x7f00deadbeef", "device": 1, "flags": ["read_mostly", "warm"],
       "labels": {"role": "kv-cache"}, "offset": "0x10", "size": 128},
      {"name": "host/state", "path": ")" + dir / ("deploy/w.bin") + R"(", "va": 4096, "size": "64"}
    ],
    "safetensors": ["weights/m.safetensors",
                    {"path": "weights/m.safetensors", "prefix": "copy.", "device": 3}],
    "labels": {"model": "llama", "build": "42"},
    "generation": 7,
    "chunk_size": "8MiB",
    "codec": "zstd",
    "level": -5
  })");

  auto r = read_capture_spec(spec);
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  REQUIRE(r->regions.size() == 6);
  const auto& kv = r->regions[0];
  CHECK(kv.meta.name == "kv");
  CHECK(kv.path == dir / ("deploy/w.bin"));
  CHECK(kv.offset == 16);
  CHECK(kv.meta.size == 128);
  CHECK(kv.meta.kind == RegionKind::Device);
  CHECK(kv.meta.dtype == "bf16");
  CHECK(kv.meta.shape == std::vector<uint64_t>{8, 8});
  CHECK(kv.meta.va == 0x7f00deadbeefull);
  CHECK(kv.meta.device == 1);
  CHECK(kv.meta.flags == (kFlagReadMostly | kFlagWarm));
  CHECK(kv.meta.labels == std::map<std::string, std::string>{{"role", "kv-cache"}});
  const auto& hs = r->regions[1];
  CHECK(hs.meta.name == "host/state");
  CHECK(hs.path == dir / ("deploy/w.bin"));
  CHECK(hs.meta.kind == RegionKind::Host);
  CHECK(hs.meta.va == 4096u);
  CHECK(hs.meta.size == 64);
  CHECK(hs.meta.device == -1);

  CHECK(r->regions[2].meta.name == "x");
  CHECK(r->regions[2].path == dir / ("deploy/weights/m.safetensors"));
  CHECK(r->regions[2].meta.device == 0);
  CHECK(r->regions[2].meta.size == 16);
  CHECK(r->regions[3].meta.name == "y");
  CHECK(r->regions[3].meta.dtype == "i8");
  CHECK(r->regions[4].meta.name == "copy.x");
  CHECK(r->regions[4].meta.device == 3);
  CHECK(r->regions[5].meta.name == "copy.y");

  CHECK(r->labels == std::map<std::string, std::string>{{"build", "42"}, {"model", "llama"}});
  CHECK(r->generation == 7u);
  CHECK(r->chunk_size == 8u << 20);
  CHECK(r->codec == "zstd");
  CHECK(r->level == -5);

  auto empty = read_capture_spec(dir.file("empty.json", "{}"));
  REQUIRE(empty.ok());
  CHECK(empty->regions.empty());
  CHECK_FALSE(empty->generation.has_value());
}

TEST_CASE("read_capture_spec: errors name the spec file and the JSON path") {
  TempDir dir("sources");
  dir.file("w.bin", std::string(64, 'w'));
  dir.file("bad.safetensors", st_bytes("[]", ""));
  int n = 0;
  auto spec = [&](const std::string& text) { return dir.file("s" + std::to_string(n++) + ".json", text); };
  const ErrorKind U = ErrorKind::Usage;
  const std::string good = R"({"name": "w", "path": "w.bin"})";

  check_spec_error(spec(R"({"regionz": []})"), U, "unknown key 'regionz'");
  check_spec_error(spec(R"({"regions": [)" + good + R"(, {"name": "v", "path": "w.bin", "dtyp": "bf16"}]})"), U,
                   "regions[1]: unknown key 'dtyp'");
  check_spec_error(spec(R"({"generation": "5"})"), U, "generation: expected a non-negative integer, got a string");
  check_spec_error(spec(R"({"generation": -1})"), U, "generation");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "shape": [1.5]}]})"), U, "regions[0].shape[0]");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "dtype": "BF16"}]})"), U, "regions[0].dtype");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "dtype": "f32", "shape": [4]}]})"), U,
                   "regions[0].shape");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "va": "7f00"}]})"), U, "regions[0].va");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "device": -1}]})"), U, "regions[0].device");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "flags": ["hot"]}]})"), U, "regions[0].flags[0]");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "size": "65"}]})"), U, "regions[0].size");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "w.bin", "labels": {"k": 1}}]})"), U,
                   "regions[0].labels.k");
  check_spec_error(spec(R"({"codec": "lz4"})"), U, "codec: expected one of");
  check_spec_error(spec(R"({"level": 99})"), U, "level");
  check_spec_error(spec(R"({"chunk_size": "4k"})"), U, "chunk_size");
  check_spec_error(spec(R"({"regions": [{"name": "w"}]})"), U, "regions[0]: missing required key 'path'");
  check_spec_error(spec(R"({"regions": [{"path": "w.bin"}]})"), U, "missing required key 'name'");
  check_spec_error(spec(R"({"regions": [{"name": "", "path": "w.bin"}]})"), U, "regions[0].name");
  check_spec_error(spec(R"({"safetensors": [{"prefix": "p."}]})"), U, "safetensors[0]: missing required key 'path'");
  check_spec_error(spec(R"({"safetensors": [{"path": "x", "device": "0"}]})"), U, "safetensors[0].device");
  check_spec_error(spec(R"({"safetensors": [7]})"), U, "safetensors[0]");
  check_spec_error(spec(R"({"regions": {}})"), U, "regions: expected an array");
  check_spec_error(spec(R"([])"), U, "JSON object");
  check_spec_error(spec(R"({"regions": [)"), U, "not valid JSON");
  check_spec_error(spec("{\n  \"codec\": zstd\n}"), U, "line 2, column 12");
  check_spec_error(spec(R"({"codec": "raw", "codec": "zstd"})"), U, "duplicate key 'codec'");
  check_spec_error(spec(R"({"regions": [)" + good + "," + good + "]}"), U, "already used by regions[0]");
  check_spec_error(spec(R"({"regions": [{"name": "w", "path": "missing.bin"}]})"), ErrorKind::IO,
                   "regions[0].path");
  check_spec_error(spec(R"({"safetensors": ["bad.safetensors"]})"), ErrorKind::Format, "safetensors[0]: ");
  check_spec_error(spec(R"({"safetensors": ["missing.safetensors"]})"), ErrorKind::IO, "missing.safetensors");

  auto missing = read_capture_spec(dir / ("nope.json"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind() == ErrorKind::IO);

  const std::string huge = dir.file("huge.json", "{}");
  std::filesystem::resize_file(huge, (16u << 20) + 1);
  check_spec_error(huge, ErrorKind::Limit, "16 MiB");
}
