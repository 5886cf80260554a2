// The planes decoder's strips (codec/planes/decode.cpp): chunks over several
// table groups, with raw, constant and Huffman planes, groups that repeat
// the previous group's code lengths or return to an earlier code, decoded
// on the fast and the portable CPU paths; a block that fails check 6 in a
// later strip is refused and named, with nothing written outside the chunk.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/planes/decode.h"
#include "planes_fixture.h"

namespace planes = vramsnap::codec::planes;
using vramsnap::Codec;
using vramsnap::codec::Choice;
using vramsnap::codec::Workspace;
using Bytes = std::vector<uint8_t>;
using planes_fixture::Guarded;

namespace {

constexpr size_t kStrip = size_t(planes::kBlocksPerTable) * planes::kBlockSymbols;

// Values of N(0, sigma) as bf16 (e = 2), f32 or f64.
Bytes weights(size_t elems, unsigned e, unsigned seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  Bytes out(elems * e);
  for (size_t i = 0; i < elems; ++i) planes_fixture::store_float(out, i, e, dist(rng));
  return out;
}

Bytes encode_planes(const Bytes& raw, unsigned e) {
  Bytes stored = planes_fixture::encode_with(raw, Choice::Planes, Codec::Planes, e);
  REQUIRE_FALSE(stored.empty());
  return stored;
}

planes::Layout layout_of(const Bytes& stored, size_t raw_size, unsigned e) {
  planes::Layout lay;
  REQUIRE(planes::parse_layout(stored.data(), stored.size(), raw_size, e, &lay) == planes::Fault::None);
  return lay;
}

// Decodes on both paths into guarded destinations; both must give raw.
void check_both_paths(const Bytes& stored, const Bytes& raw, unsigned e) {
  for (bool fast : {true, false}) {
    CAPTURE(fast);
    Workspace ws;
    Guarded g(raw.size());
    auto st = planes::decode_with_paths(ws, e, stored, g.dst(), fast);
    REQUIRE(st.ok());
    CHECK(g.intact());
    CHECK(std::memcmp(g.dst().data(), raw.data(), raw.size()) == 0);
  }
}

}  // namespace

TEST_CASE("planes strips: raw, constant and Huffman planes over several table groups, fast and portable paths") {
  // f32 with byte 1 constant: planes raw, constant, raw, Huffman; two full
  // strips, a partial third of an odd length and a 3-byte tail.
  const size_t m = 2 * kStrip + 3 * planes::kBlockSymbols + 77;
  Bytes raw = weights(m, 4, 3, 0.02f);
  for (size_t i = 1; i < raw.size(); i += 4) raw[i] = 0x42;
  raw.insert(raw.end(), {0x11, 0x22, 0x33});
  const Bytes stored = encode_planes(raw, 4);
  const planes::Layout lay = layout_of(stored, raw.size(), 4);
  CHECK(lay.planes[0].mode == planes::kModeRaw);
  CHECK(lay.planes[1].mode == planes::kModeConstant);
  CHECK(lay.planes[3].mode == planes::kModeHuffman);
  CHECK(lay.planes[3].tables == 3);
  check_both_paths(stored, raw, 4);

  // f64 and bf16 over a strip and a bit; a chunk of less than one strip.
  for (const auto& c : {std::pair{8u, kStrip + 1000}, std::pair{2u, kStrip + 1}, std::pair{2u, size_t(5000)}}) {
    const unsigned e = c.first;
    const size_t elems = c.second;
    CAPTURE(e);
    CAPTURE(elems);
    const Bytes w = weights(elems, e, 4, 0.02f);
    check_both_paths(encode_planes(w, e), w, e);
  }
}

TEST_CASE("planes strips: groups that repeat the previous code or return to an earlier one") {
  // Groups A A B A and a partial A: the second A repeats the first's code
  // lengths (its tables are kept), B differs, the last A returns after B.
  const Bytes a = weights(kStrip, 2, 1, 0.02f);
  const Bytes b = weights(kStrip, 2, 2, 3.0f);
  Bytes raw;
  for (const Bytes* g : {&a, &a, &b, &a}) raw.insert(raw.end(), g->begin(), g->end());
  raw.insert(raw.end(), a.begin(), a.begin() + 2 * 1000);
  const Bytes stored = encode_planes(raw, 2);
  const planes::Layout lay = layout_of(stored, raw.size(), 2);
  const planes::Plane& pl = lay.planes[1];
  REQUIRE(pl.mode == planes::kModeHuffman);
  REQUIRE(pl.tables == 5);
  auto lengths = [&](uint32_t t) {
    const auto at = stored.begin() + pl.offset + t * planes::kLengthsSize;
    return Bytes(at, at + planes::kLengthsSize);
  };
  CHECK(lengths(0) == lengths(1));
  CHECK(lengths(1) != lengths(2));
  CHECK(lengths(3) == lengths(0));
  check_both_paths(stored, raw, 2);
}

TEST_CASE("planes strips: a block of a later strip that fails check 6 is named; nothing outside the chunk is written") {
  const size_t m = 2 * kStrip + 8 * planes::kBlockSymbols + 500;
  const Bytes raw = weights(m, 2, 5, 0.02f);
  const Bytes stored = encode_planes(raw, 2);
  const planes::Layout lay = layout_of(stored, raw.size(), 2);
  const planes::Plane& pl = lay.planes[1];
  REQUIRE(pl.mode == planes::kModeHuffman);
  // Block 69 (third strip) ends one byte later, block 70 one byte sooner:
  // the ends still pass check 5, the codes of block 69 fail check 6.
  const uint32_t j = 2 * planes::kBlocksPerTable + 5;
  REQUIRE(j + 1 < pl.blocks);
  Bytes s = stored;
  const uint32_t end = planes::load_u32(s.data() + pl.ends_offset + 4 * j) + 1;
  REQUIRE(end < planes::load_u32(s.data() + pl.ends_offset + 4 * (j + 1)));
  for (unsigned i = 0; i < 4; ++i) s[pl.ends_offset + 4 * j + i] = uint8_t(end >> (8 * i));
  for (bool fast : {true, false}) {
    CAPTURE(fast);
    Workspace ws;
    Guarded g(raw.size());
    auto st = planes::decode_with_paths(ws, 2, s, g.dst(), fast);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind() == vramsnap::ErrorKind::Format);
    CAPTURE(st.error().message());
    CHECK(st.error().message().find("block's codes") != std::string::npos);
    CHECK(st.error().message().find("(plane 1, block " + std::to_string(j) + ")") != std::string::npos);
    CHECK(g.intact());
  }
  Guarded h(raw.size());
  CHECK(planes_fixture::grid_decode(s, 2, h.dst()) == uint32_t(planes::Fault::Stream));
  CHECK(h.intact());
}
