// The palette codec (formats/snapshot-v1.md 6.5): the worked example byte
// for byte, round trips over element sizes, lengths and group counts, the
// encoder declining chunks of too many values, auto's choice, the kernel's
// grid run on the host against the CPU decoder, and hostile stored bytes
// refused without a write outside the destination.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/palette/encode.h"
#include "codec/palette/layout.h"
#include "codec/planes/batch.h"
#include "crypto/digest.h"
#include "planes_fixture.h"

using vramsnap::Codec;
using vramsnap::codec::ChunkEncoder;
using vramsnap::codec::Choice;
namespace planes = vramsnap::codec::planes;
namespace palette = vramsnap::codec::palette;
using Bytes = std::vector<uint8_t>;

namespace {

using planes_fixture::Guarded;
using planes_fixture::grid_decode;

constexpr size_t kGroup = size_t(planes::kBlocksPerTable) * planes::kBlockSymbols;

// `elems` elements of e bytes drawn from `levels` values (a dequantized
// tensor: scale * (q - zero) for q in 0..levels-1), skewed towards the middle.
Bytes quantized(size_t elems, unsigned e, unsigned levels, unsigned seed = 1, double scale = 0.003) {
  std::mt19937 rng(seed);
  std::binomial_distribution<unsigned> q(levels - 1, 0.5);
  Bytes out(elems * e);
  for (size_t i = 0; i < elems; ++i) {
    planes_fixture::store_float(out, i, e, float(scale * (double(q(rng)) - levels / 2.0)));
  }
  return out;
}

// The chunk as --codec palette stores it; empty when stored otherwise.
Bytes encode_palette(std::span<const uint8_t> raw, unsigned e, Codec* used = nullptr) {
  return planes_fixture::encode_with(raw, Choice::Palette, Codec::Palette, e, used);
}

vramsnap::Status decode(std::span<const uint8_t> stored, unsigned e, Guarded& g) {
  return planes_fixture::decode_into(Codec::Palette, stored, e, g);
}

// The palette encoder itself, which also writes chunks too small to pay.
void round_trip(const Bytes& raw, unsigned e) {
  CAPTURE(raw.size());
  CAPTURE(e);
  vramsnap::codec::Workspace ws;
  auto r = palette::encode(ws, raw, e);
  REQUIRE(r.ok());
  const Bytes stored(r->begin(), r->end());
  REQUIRE_FALSE(stored.empty());
  Guarded g(raw.size());
  REQUIRE(decode(stored, e, g).ok());
  CHECK(std::equal(raw.begin(), raw.end(), g.dst().begin()));
  Guarded h(raw.size());
  CHECK(grid_decode(stored, e, h.dst(), /*palette=*/true) == 0);
  CHECK(h.intact());
  CHECK(std::equal(raw.begin(), raw.end(), h.dst().begin()));
}

// Both decoders refuse `stored`; the CPU one with a message containing `what`.
void refused(const Bytes& stored, size_t raw_size, unsigned e, const char* what, planes::Fault fault) {
  CAPTURE(what);
  Guarded g(raw_size);
  auto st = decode(stored, e, g);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind() == vramsnap::ErrorKind::Format);
  CHECK(st.error().message().find(what) != std::string::npos);
  Guarded h(raw_size);
  CHECK(grid_decode(stored, e, h.dst(), /*palette=*/true) == uint32_t(fault));
  CHECK(h.intact());
}

// The worked example's input: 200 bf16 elements 0x3c00, 0x3c00, 0xbc00,
// 0x3d80 repeated, then one tail byte.
Bytes example() {
  Bytes raw;
  const uint16_t v[4] = {0x3c00, 0x3c00, 0xbc00, 0x3d80};
  for (int i = 0; i < 200; ++i) {
    raw.push_back(uint8_t(v[i % 4]));
    raw.push_back(uint8_t(v[i % 4] >> 8));
  }
  raw.push_back(0x7f);
  return raw;
}

}  // namespace

TEST_CASE("palette: the worked example of section 6.5, byte for byte") {
  const Bytes raw = example();
  const Bytes stored = encode_palette(raw, 2);
  REQUIRE(stored.size() == 187);
  const Bytes head = {0x0c, 0x02, 0, 0, 0xc8, 0, 0, 0, 0x03, 0x00, 0x00, 0x3c, 0x80, 0x3d, 0x00, 0xbc};
  CHECK(Bytes(stored.begin(), stored.begin() + 16) == head);
  CHECK(stored[16] == 0x21);  // index 0: 1 bit, index 1: 2 bits
  CHECK(stored[17] == 0x02);  // index 2: 2 bits
  CHECK(Bytes(stored.begin() + 144, stored.begin() + 151) == Bytes{0x26, 0, 0, 0, 0x38, 0xe3, 0x8e});
  CHECK(Bytes(stored.end() - 3, stored.end()) == Bytes{0x38, 0xe0, 0x7f});
  CHECK(vramsnap::crypto::to_hex(vramsnap::crypto::sha256(stored)) ==
        "70718f1cba937fdc89ae520c925e1b5dce929a5d60c4ad1b5a2e51c78b852de5");
  CHECK(vramsnap::crypto::to_hex(vramsnap::crypto::sha256(raw)) ==
        "a73b7e516c40532bda573a254773dc2d750c805b04df3ca2fe15b2bea4ad6739");
  round_trip(raw, 2);
}

TEST_CASE("palette: round trips over element sizes, odd lengths, partial blocks and several groups") {
  const size_t B = planes::kBlockSymbols;
  for (unsigned e : {2u, 4u, 8u}) {
    for (size_t elems : {size_t(1), size_t(3), size_t(100), B - 1, B + 1, 4 * B + 17, kGroup + 5 * B + 3}) {
      for (unsigned levels : {2u, 17u, 256u}) {
        Bytes raw = quantized(elems, e, levels, unsigned(elems + levels));
        for (unsigned t = 0; t + 1 < e && t < 1; ++t) raw.push_back(0x5a);  // a tail byte
        round_trip(raw, e);
      }
    }
  }
  // One value in a group (a table padded with a neighbour), at the top of
  // the value range too.
  for (uint16_t v : {uint16_t(0x3c00), uint16_t(0xffff), uint16_t(0)}) {
    Bytes raw(2 * (B + 9));
    for (size_t i = 0; i < raw.size(); i += 2) {
      raw[i] = uint8_t(v);
      raw[i + 1] = uint8_t(v >> 8);
    }
    raw[0] ^= 1;  // not all zero, not one value throughout
    round_trip(raw, 2);
  }
}

TEST_CASE("palette: a group of more than 256 values is declined; --codec palette then stores planes") {
  Bytes raw = quantized(3 * planes::kBlockSymbols, 2, 256, 7);
  Codec used = Codec::Raw;
  CHECK_FALSE(encode_palette(raw, 2, &used).empty());
  // A second group with 300 values.
  Bytes more = quantized(kGroup, 2, 256, 8);
  raw.insert(raw.end(), more.begin(), more.end());
  for (uint16_t i = 0; i < 300; ++i) {
    raw.push_back(uint8_t(0x3c00 + i));
    raw.push_back(uint8_t((0x3c00 + i) >> 8));
  }
  CHECK(encode_palette(raw, 2, &used).empty());
  CHECK(used == Codec::Planes);
  // 1-byte elements: no palette, the chain ends at zstd.
  ChunkEncoder enc(3);
  auto r = enc.encode(quantized(5000, 2, 4, 9), Choice::Palette, 1);
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Zstd);
}

TEST_CASE("palette: auto stores quantized float chunks with palette, and weights of many values without") {
  ChunkEncoder enc(3);
  for (size_t elems : {size_t(100000), size_t(2) << 20}) {  // whole-chunk and sampled choice
    CAPTURE(elems);
    const Bytes raw = quantized(elems, 2, 200, 11);
    auto r = enc.encode(raw, Choice::Auto, 2, true);
    REQUIRE(r.ok());
    CHECK(r->codec == Codec::Palette);
    auto s = enc.encode(raw, Choice::Shuffle, 2, true);
    REQUIRE(s.ok());
    Bytes pal(r->stored.begin(), r->stored.end());
    CHECK(double(pal.size()) < 0.9 * double(s->stored.size()));
    Guarded g(raw.size());
    REQUIRE(decode(pal, 2, g).ok());
    CHECK(std::equal(raw.begin(), raw.end(), g.dst().begin()));
  }
  // Not a float dtype: auto keeps shuffle.
  auto r = enc.encode(quantized(100000, 2, 200, 12), Choice::Auto, 2, false);
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Shuffle);
}

TEST_CASE("palette: every damaged field is a format error, never a write outside the chunk") {
  const Bytes raw = example();
  const Bytes good = encode_palette(raw, 2);
  REQUIRE(good.size() == 187);
  using F = planes::Fault;
  auto with = [&](size_t at, uint8_t v) {
    Bytes s = good;
    s[at] = v;
    return s;
  };
  refused(Bytes(good.begin(), good.begin() + 7), raw.size(), 2, "shorter", F::Truncated);
  refused(with(0, 13), raw.size(), 2, "bad header", F::Header);
  refused(with(1, 4), raw.size(), 2, "bad header", F::Header);
  refused(with(2, 1), raw.size(), 2, "bad header", F::Header);
  refused(with(4, 0xc9), raw.size(), 2, "bad header", F::Header);
  refused(with(8, 1), raw.size(), 2, "value table holds", F::PaletteSize);    // 1 value
  refused(with(9, 1), raw.size(), 2, "value table holds", F::PaletteSize);    // 259 values
  refused(with(8, 0xff), raw.size(), 2, "do not add up", F::TotalSize);       // 255 values do not fit
  refused(with(11, 0x3e), raw.size(), 2, "not strictly increasing", F::PaletteOrder);
  Bytes repeated = with(12, 0x00);
  repeated[13] = 0x3c;  // the second value equal to the first
  refused(repeated, raw.size(), 2, "not strictly increasing", F::PaletteOrder);
  // A table of 2 values whose code still gives index 2 a code.
  Bytes two(good.begin(), good.begin() + 14);
  two[8] = 2;
  two.insert(two.end(), good.begin() + 16, good.end());
  refused(two, raw.size(), 2, "names no value", F::PaletteIndex);
  refused(with(16, 0x22), raw.size(), 2, "code lengths", F::CodeLengths);
  refused(with(144, 0x27), raw.size(), 2, "block ends", F::BlockEnds);
  refused(with(185, 0xe1), raw.size(), 2, "a block's codes", F::Stream);  // a padding bit set
  refused(Bytes(good.begin(), good.end() - 1), raw.size(), 2, "block ends", F::BlockEnds);
  Bytes longer = good;
  longer.push_back(0);
  refused(longer, raw.size(), 2, "block ends", F::BlockEnds);
  // Truncated inside the value tables.
  refused(Bytes(good.begin(), good.begin() + 14), raw.size(), 2, "do not add up", F::TotalSize);
}
