// validate_region (vramsnap/types.hpp): the format's one set of rules for a
// region's metadata, as capture inputs, the writer and the manifest reader
// all apply them.
#include <doctest/doctest.h>

#include <string>

#include "vramsnap/types.hpp"

using namespace vramsnap;

namespace {

RegionMeta good() {
  RegionMeta m;
  m.name = "layers/0/attn.w";
  m.kind = RegionKind::Device;
  m.size = 4 * 8 * 2;
  m.dtype = "bf16";
  m.shape = {4, 8};
  m.device = 0;
  m.labels = {{"role", "weights"}};
  return m;
}

void check_bad(const RegionMeta& m, ErrorKind kind, const char* field, const std::string& needle) {
  std::string at;
  auto st = validate_region(m, &at);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind() == kind);
  CHECK(at == field);
  CHECK_MESSAGE(st.error().message().find(needle) != std::string::npos, st.error().message());
  CHECK_FALSE(validate_region(m).ok());  // the field is optional
}

}  // namespace

TEST_CASE("validate_region: metadata the format accepts") {
  std::string field = "untouched";
  CHECK(validate_region(good(), &field).ok());
  CHECK(field == "untouched");
  RegionMeta bare;
  bare.name = "x";
  CHECK(validate_region(bare).ok());
  RegionMeta unknown = good();
  unknown.dtype = "f4";  // no known size: shape not checked against size
  unknown.shape = {3};
  CHECK(validate_region(unknown).ok());
}

TEST_CASE("validate_region: names") {
  for (const char* name : {"", "a\\b", "/a", "a/", "a//b", "a/./b", "a/../b", "..", "tab\there", "del\x7f"}) {
    CAPTURE(name);
    RegionMeta m = good();
    m.name = name;
    check_bad(m, ErrorKind::Usage, "name", "region name");
  }
  RegionMeta longest = good();
  longest.name = std::string(255, 'n');
  CHECK(validate_region(longest).ok());
  longest.name += 'n';
  check_bad(longest, ErrorKind::Usage, "name", "at most 255");
  RegionMeta utf8 = good();
  utf8.name = "bad\xff";
  check_bad(utf8, ErrorKind::Usage, "name", "UTF-8");
}

TEST_CASE("validate_region: size, dtype, shape, labels") {
  RegionMeta big = good();
  big.size = (1ull << 48) + 1;
  big.shape.clear();
  check_bad(big, ErrorKind::Limit, "size", "exceeds the cap");
  RegionMeta dtype = good();
  dtype.dtype = "BF16";
  check_bad(dtype, ErrorKind::Usage, "dtype", "not a valid dtype name");
  RegionMeta rank = good();
  rank.dtype.clear();
  rank.shape.assign(17, 1);
  check_bad(rank, ErrorKind::Usage, "shape", "rank 17");
  RegionMeta mismatch = good();
  mismatch.size = 100;
  check_bad(mismatch, ErrorKind::Usage, "shape", "the region size 100 (shape [4, 8] of bf16 is 64 bytes)");
  RegionMeta overflow = good();
  overflow.dtype = "u8";
  overflow.shape = {1ull << 32, 1ull << 32};
  check_bad(overflow, ErrorKind::Usage, "shape", "more than 2^64");
  RegionMeta label = good();
  label.labels[""] = "x";
  check_bad(label, ErrorKind::Usage, "labels", "empty label key");
  label.labels.clear();
  label.labels["k"] = std::string(4097, 'v');
  check_bad(label, ErrorKind::Limit, "labels", "longer than");
}
