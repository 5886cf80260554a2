// The tool's --region grammar (tools/region_arg.cpp) over the library's
// region_from_file and validate_region: good arguments, and bad ones as Usage
// errors naming the flag, the region and the field.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../../tools/region_arg.h"
#include "temp_dir.h"

using namespace vramsnap;
using vramsnap::cli::parse_region_arg;
using vtest::TempDir;

namespace {

void check_error(const Result<RegionSource>& r, ErrorKind kind, const std::string& needle) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind() == kind);
  CHECK_MESSAGE(r.error().message().find(needle) != std::string::npos, r.error().message());
}

}  // namespace

TEST_CASE("parse_region_arg: good arguments") {
  TempDir dir("sources");
  const std::string path = dir.file("w.bin", std::string(128, 'w'));

  auto plain = parse_region_arg("model.layers/0=" + path);
  REQUIRE_MESSAGE(plain.ok(), plain.error().message());
  CHECK(plain->meta.name == "model.layers/0");
  CHECK(plain->meta.kind == RegionKind::Host);
  CHECK(plain->meta.size == 128);
  CHECK(plain->meta.device == -1);
  CHECK(plain->meta.dtype.empty());
  CHECK(plain->meta.shape.empty());
  CHECK_FALSE(plain->meta.va.has_value());
  CHECK(plain->meta.flags == 0);
  CHECK(plain->path == path);
  CHECK(plain->offset == 0);

  auto full = parse_region_arg("w=" + path +
                               ",kind=device,dtype=bf16,shape=4x8,va=0x7f00deadbeef,device=1,"
                               "flags=read_mostly+warm,offset=64,size=64");
  REQUIRE_MESSAGE(full.ok(), full.error().message());
  CHECK(full->meta.kind == RegionKind::Device);
  CHECK(full->meta.dtype == "bf16");
  CHECK(full->meta.shape == std::vector<uint64_t>{4, 8});
  CHECK(full->meta.va == 0x7f00deadbeefull);
  CHECK(full->meta.device == 1);
  CHECK(full->meta.flags == (kFlagReadMostly | kFlagWarm));
  CHECK(full->offset == 64);
  CHECK(full->meta.size == 64);

  auto dev = parse_region_arg("d=" + path + ",kind=device,offset=0x40");
  REQUIRE(dev.ok());
  CHECK(dev->meta.device == 0);  // device regions default to device 0
  CHECK(dev->meta.size == 64);   // the rest of the file after offset

  auto unknown_dtype = parse_region_arg("f=" + path + ",dtype=f4,shape=3");  // unknown size: no check
  CHECK(unknown_dtype.ok());
  auto at_end = parse_region_arg("e=" + path + ",offset=128");
  REQUIRE(at_end.ok());
  CHECK(at_end->meta.size == 0);
  auto kinds = parse_region_arg("m=" + path + ",kind=module");
  REQUIRE(kinds.ok());
  CHECK(kinds->meta.kind == RegionKind::Module);
}

TEST_CASE("parse_region_arg: bad arguments") {
  TempDir dir("sources");
  const std::string path = dir.file("w.bin", std::string(128, 'w'));
  const ErrorKind U = ErrorKind::Usage;

  check_error(parse_region_arg("noequals"), U, "NAME=PATH");
  check_error(parse_region_arg("=" + path), U, "NAME");
  check_error(parse_region_arg("w="), U, "PATH");
  check_error(parse_region_arg("w=" + path + ",kind=gpu"), U, "kind");
  check_error(parse_region_arg("w=" + path + ",dtype=BF16"), U, "dtype");
  check_error(parse_region_arg("w=" + path + ",dtype="), U, "dtype");
  check_error(parse_region_arg("w=" + path + ",shape=4xx8"), U, "shape");
  check_error(parse_region_arg("w=" + path + ",shape=4x-1"), U, "shape");
  check_error(parse_region_arg("w=" + path + ",shape="), U, "shape");
  check_error(parse_region_arg("w=" + path + ",shape=1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1"), U, "rank");
  check_error(parse_region_arg("w=" + path + ",va=zz"), U, "va");
  check_error(parse_region_arg("w=" + path + ",device=-1"), U, "device");
  check_error(parse_region_arg("w=" + path + ",device=2147483648"), U, "device");
  check_error(parse_region_arg("w=" + path + ",flags=hot"), U, "flag");
  check_error(parse_region_arg("w=" + path + ",flags=warm+"), U, "flag");
  check_error(parse_region_arg("w=" + path + ",offset=200"), U, "past the end");
  check_error(parse_region_arg("w=" + path + ",size=200"), U, "past the end");
  check_error(parse_region_arg("w=" + path + ",offset=100,size=29"), U, "past the end");
  check_error(parse_region_arg("w=" + path + ",offset=1,size=0xffffffffffffffff"), U, "past the end");
  check_error(parse_region_arg("w=" + path + ",size=4MB"), U, "size");
  check_error(parse_region_arg("w=" + path + ",dtype=f32,shape=4x4"), U, "shape");
  check_error(parse_region_arg("w=" + path + ",dtype=u8,shape=4294967296x4294967296"), U, "shape");
  check_error(parse_region_arg("w=" + path + ",bogus=1"), U, "valid: kind, dtype, shape, va, device, flags, offset, size");
  check_error(parse_region_arg("w=" + path + ",kind=host,kind=device"), U, "more than once");
  check_error(parse_region_arg("w=" + dir / ("a,b")), U, "--spec");
  check_error(parse_region_arg("a\x01" "b=" + path), U, "control character");
  check_error(parse_region_arg(std::string(256, 'n') + "=" + path), U, "255");
  check_error(parse_region_arg("bad\xFF=" + path), U, "UTF-8");
  check_error(parse_region_arg("w=" + dir / ("missing.bin")), ErrorKind::IO, "missing.bin");
  check_error(parse_region_arg("w=" + dir.path), ErrorKind::IO, "directory");
}

TEST_CASE("parse_region_arg: region names follow the format's rules, with the flag and field named") {
  TempDir dir("sources");
  const std::string path = dir.file("w.bin", std::string(128, 'w'));
  for (const char* name : {"a\\b", "/lead", "trail/", "a//b", "a/../b", "./x"}) {
    CAPTURE(name);
    auto r = parse_region_arg(std::string(name) + "=" + path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
    CHECK_MESSAGE(r.error().message().rfind("--region '", 0) == 0, r.error().message());
    CHECK_MESSAGE(r.error().message().find("': name: region name ") != std::string::npos, r.error().message());
  }
  auto shape = parse_region_arg("w=" + path + ",dtype=f32,shape=4x4");
  REQUIRE_FALSE(shape.ok());
  CHECK_MESSAGE(shape.error().message().rfind("--region 'w': shape: ", 0) == 0, shape.error().message());
  CHECK_MESSAGE(shape.error().message().find("the region size 128 (shape [4, 4] of f32 is 64 bytes)") != std::string::npos,
                shape.error().message());
  CHECK(parse_region_arg("layers/0/w=" + path).ok());
}
