// The planes codec (formats/snapshot-v1.md 6.4): the worked example byte for
// byte, round trips over element sizes, lengths and distributions, the
// kernel's grid run on the host against the CPU decoder, and hostile stored
// bytes refused without a write outside the destination.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/planes/batch.h"
#include "codec/planes/huffman.h"
#include "codec/planes/split.h"
#include "crypto/digest.h"
#include "planes_fixture.h"

using vramsnap::ErrorKind;
using vramsnap::codec::ChunkDecoder;
using vramsnap::codec::ChunkEncoder;
using vramsnap::codec::Choice;
using vramsnap::Codec;
namespace planes = vramsnap::codec::planes;
using Bytes = std::vector<uint8_t>;

namespace {

using planes_fixture::Guarded;
using planes_fixture::grid_decode;

// Floats from N(0, sigma) as bf16 (e = 2, top half of f32), f16, f32 or f64.
Bytes weights(size_t elems, unsigned e, bool f16 = false, unsigned seed = 1, float sigma = 0.02f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  Bytes out(elems * e);
  for (size_t i = 0; i < elems; ++i) {
    const float f = dist(rng);
    if (e == 2 && f16) {
      const uint16_t h = planes_fixture::f16_toward_zero(f);
      std::memcpy(&out[i * 2], &h, 2);
    } else {
      planes_fixture::store_float(out, i, e, f);
    }
  }
  return out;
}

Bytes random_bytes(size_t n, unsigned seed = 2) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = uint8_t(rng());
  return out;
}

Bytes encode_planes(std::span<const uint8_t> raw, unsigned e) {
  return planes_fixture::encode_with(raw, Choice::Planes, Codec::Planes, e);
}

vramsnap::Status decode_planes(std::span<const uint8_t> stored, unsigned e, Guarded& g) {
  return planes_fixture::decode_into(Codec::Planes, stored, e, g);
}

void round_trip(const Bytes& raw, unsigned e) {
  CAPTURE(raw.size());
  CAPTURE(e);
  const Bytes stored = encode_planes(raw, e);
  if (stored.empty()) return;
  Guarded g(raw.size());
  REQUIRE(decode_planes(stored, e, g).ok());
  CHECK(std::equal(raw.begin(), raw.end(), g.dst().begin()));
  Guarded h(raw.size());
  CHECK(grid_decode(stored, e, h.dst()) == 0);
  CHECK(h.intact());
  CHECK(std::equal(raw.begin(), raw.end(), h.dst().begin()));
}

}  // namespace

TEST_CASE("planes: the worked example of section 6.4, byte for byte") {
  Bytes raw;
  const uint8_t hi[4] = {0x3c, 0x3c, 0xbc, 0x3d};
  for (int i = 0; i < 200; ++i) {
    raw.push_back(0x80);
    raw.push_back(hi[i % 4]);
  }
  raw.push_back(0x7f);
  REQUIRE(raw.size() == 401);
  const Bytes stored = encode_planes(raw, 2);
  REQUIRE(stored.size() == 195);
  CHECK(vramsnap::crypto::to_hex(vramsnap::crypto::sha256(stored)) ==
        "feb148aa320b15ffe8c57ee92e26081ab7fd185a4a6ec895da0c4336be235b6b");
  CHECK(vramsnap::crypto::to_hex(vramsnap::crypto::sha256(raw)) ==
        "45438f610e4720a34758e23f2dcb97f76ddd3d028540741825bc2f756c8a80ed");
  const Bytes head = {0x0c, 0x02, 0, 0, 0xc8, 0, 0, 0, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0xaa, 0, 0, 0};
  CHECK(Bytes(stored.begin(), stored.begin() + 24) == head);
  CHECK(stored[24 + 30] == 0x21);
  CHECK(stored[24 + 94] == 0x02);
  CHECK(Bytes(stored.begin() + 152, stored.begin() + 159) == Bytes{0x26, 0, 0, 0, 0x38, 0xe3, 0x8e});
  CHECK(Bytes(stored.end() - 3, stored.end()) == Bytes{0x38, 0xe0, 0x7f});
  round_trip(raw, 2);
}

TEST_CASE("planes: round trips over element sizes, odd lengths, tiny and partial blocks") {
  for (unsigned e : {2u, 4u, 8u}) {
    const size_t B = planes::kBlockSymbols;
    for (size_t elems : {size_t(0), size_t(1), size_t(3), size_t(100), B - 1, B, B + 1, 4 * B + 17, 9 * B}) {
      for (size_t extra : {size_t(0), size_t(e - 1)}) {
        Bytes raw = weights(elems, e);
        const Bytes tail = random_bytes(extra, 9);
        raw.insert(raw.end(), tail.begin(), tail.end());
        if (raw.empty()) continue;
        round_trip(raw, e);
      }
    }
  }
}

TEST_CASE("planes: distributions: bf16, f16, f32, f64 weights, constant, random, skewed") {
  const size_t n = 3 * planes::kBlockSymbols + 5;
  // Weights compress: the exponent plane is Huffman-coded, the rest stay raw.
  for (auto [e, f16] : {std::pair{2u, false}, std::pair{2u, true}, std::pair{4u, false}, std::pair{8u, false}}) {
    const Bytes raw = weights(n, e, f16);
    const Bytes stored = encode_planes(raw, e);
    REQUIRE_FALSE(stored.empty());
    // f16 weights may be stored in the split layout instead (6.4.1).
    if (!(f16 && planes::is_split(stored.data(), stored.size())))
      CHECK(stored[8 + 8 * (e - 1)] == planes::kModeHuffman);
    CHECK(stored.size() < raw.size());
    round_trip(raw, e);
  }
  // bf16 of N(0, 0.02) stores near the planes' entropy (0.6655 of raw).
  const Bytes big = weights(1 << 18, 2);
  CHECK(double(encode_planes(big, 2).size()) / double(big.size()) < 0.675);

  // A constant chunk: every plane constant, a header and descriptors only.
  Bytes c(4096 * 3 + 1);
  for (size_t i = 0; i < c.size(); ++i) c[i] = i % 2 ? 0x3f : 0x80;
  const Bytes cs = encode_planes(c, 2);
  REQUIRE(cs.size() == 8 + 16 + 1);
  round_trip(c, 2);

  // Random bytes do not compress: the writer stores the chunk raw.
  ChunkEncoder enc(3);
  const Bytes rnd = random_bytes(70000);
  auto r = enc.encode(rnd, Choice::Planes, 2);
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Raw);

  // A geometric distribution wants codes longer than 11 bits; the limited
  // code still round-trips and no length exceeds 11.
  Bytes skew(2 * 100000);
  std::mt19937 rng(5);
  std::geometric_distribution<int> geo(0.5);
  for (size_t i = 0; i < skew.size() / 2; ++i) {
    skew[2 * i] = uint8_t(std::min(geo(rng), 255));
    skew[2 * i + 1] = uint8_t(std::min(geo(rng), 255));
  }
  planes::Histogram h{};
  for (size_t i = 0; i < skew.size(); i += 2) ++h[skew[i]];
  const auto len = planes::huffman_lengths(h);
  unsigned longest = 0;
  double kraft = 0;
  for (unsigned s = 0; s < 256; ++s) {
    longest = std::max<unsigned>(longest, len[s]);
    if (len[s]) kraft += std::ldexp(1.0, -int(len[s]));
  }
  CHECK(longest == planes::kMaxCodeLen);
  CHECK(kraft == 1.0);
  round_trip(skew, 2);
}

TEST_CASE("planes: a group's histogram counts its range; a lone symbol gets the next one (mod the alphabet) beside it") {
  const uint8_t sym[] = {7, 9, 9, 255, 255, 255, 33, 33};
  auto h = planes::group_histogram(sym, 0, 3, 256);  // two symbols: as counted
  CHECK(h[7] == 1);
  CHECK(h[9] == 2);
  CHECK(std::accumulate(h.begin(), h.end(), uint64_t(0)) == 3);
  h = planes::group_histogram(sym, 3, 6, 256);  // 255 alone: 0 beside it
  CHECK(h[255] == 3);
  CHECK(h[0] == 1);
  CHECK(std::accumulate(h.begin(), h.end(), uint64_t(0)) == 4);
  h = planes::group_histogram(sym, 6, 8, 34);  // the split layout's last symbol alone: 0 beside it
  CHECK(h[33] == 2);
  CHECK(h[0] == 1);
  CHECK(h[34] == 0);
  const auto len = planes::huffman_lengths(h);
  CHECK(len[33] == 1);
  CHECK(len[0] == 1);
}

TEST_CASE("planes: auto picks planes for float chunks that store within 2% of shuffle") {
  ChunkEncoder enc(3);
  const Bytes bf16 = weights(1 << 17, 2);
  auto r = enc.encode(bf16, Choice::Auto, 2, true);
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Planes);
  CHECK(r->elem_size == 2);
  r = enc.encode(bf16, Choice::Auto, 2, false);  // an integer dtype keeps shuffle
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Shuffle);
  // Float data that zstd's matches shrink far better (a repeated pattern)
  // stays with shuffle.
  Bytes rep(1 << 18);
  const Bytes unit = weights(512, 2, false, 3);
  for (size_t i = 0; i < rep.size(); ++i) rep[i] = unit[i % unit.size()];
  r = enc.encode(rep, Choice::Auto, 2, true);
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Shuffle);
  // Chunks over twice kPlanesSample are weighed on a sample: the same
  // outcomes for 2 MiB chunks of either kind.
  const Bytes big = weights(1 << 20, 2, false, 4);
  r = enc.encode(big, Choice::Auto, 2, true);
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Planes);
  Bytes big_rep(2 << 20);
  for (size_t i = 0; i < big_rep.size(); ++i) big_rep[i] = unit[i % unit.size()];
  r = enc.encode(big_rep, Choice::Auto, 2, true);
  REQUIRE(r.ok());
  CHECK(r->codec == Codec::Shuffle);
}

TEST_CASE("planes: every damaged field is a format error, never a write outside the chunk") {
  // A chunk with every mode: plane 0 and 2 raw, 1 constant, 3 Huffman
  // (f32 weights whose byte 1 is forced constant), two blocks, a tail.
  Bytes raw = weights(planes::kBlockSymbols + 300, 4, false, 7);
  for (size_t i = 1; i < raw.size(); i += 4) raw[i] = 0x42;
  raw.push_back(0x11);
  raw.push_back(0x22);
  const Bytes stored = encode_planes(raw, 4);
  REQUIRE(stored.size() > 40);
  REQUIRE(stored[8] == planes::kModeRaw);
  REQUIRE(stored[16] == planes::kModeConstant);
  REQUIRE(stored[32] == planes::kModeHuffman);
  round_trip(raw, 4);

  auto expect_fault = [&](const Bytes& s, const char* needle, uint32_t fault) {
    Guarded g(raw.size());
    auto st = decode_planes(s, 4, g);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind() == ErrorKind::Format);
    INFO(st.error().message());
    CHECK(st.error().message().find(needle) != std::string::npos);
    // The grid reports some fault of the chunk: with several, which one
    // depends on the order threads run in.
    Guarded h(raw.size());
    const uint32_t got = grid_decode(s, 4, h.dst());
    CHECK(got != 0);
    CHECK(got <= uint32_t(planes::Fault::Stream));
    if (fault <= uint32_t(planes::Fault::TotalSize)) CHECK(got == fault);  // found before any block runs
    CHECK(h.intact());
  };
  auto with = [&](size_t at, uint8_t v) {
    Bytes s = stored;
    s[at] = v;
    return s;
  };
  using F = planes::Fault;
  expect_fault(Bytes(stored.begin(), stored.begin() + 39), "shorter than its header", uint32_t(F::Truncated));
  expect_fault(with(0, 13), "bad header", uint32_t(F::Header));
  expect_fault(with(1, 2), "bad header", uint32_t(F::Header));
  expect_fault(with(2, 1), "bad header", uint32_t(F::Header));
  expect_fault(with(4, stored[4] ^ 1), "bad header", uint32_t(F::Header));
  expect_fault(with(8, 3), "bad plane descriptor", uint32_t(F::Descriptor));
  expect_fault(with(9, 1), "bad plane descriptor", uint32_t(F::Descriptor));
  expect_fault(with(10, 1), "bad plane descriptor", uint32_t(F::Descriptor));
  expect_fault(with(12, stored[12] ^ 1), "plane size", uint32_t(F::PlaneSize));
  expect_fault(with(20, 1), "plane size", uint32_t(F::PlaneSize));
  {
    Bytes s = with(16, planes::kModeRaw);  // constant -> raw, but no payload
    s[17] = 0;
    expect_fault(s, "plane size", uint32_t(F::PlaneSize));
    s = with(36, 100);  // Huffman plane smaller than its table
    s[37] = s[38] = s[39] = 0;
    expect_fault(s, "plane size", uint32_t(F::PlaneSize));
  }
  Bytes longer = stored;
  longer.push_back(0);
  expect_fault(longer, "do not add up", uint32_t(F::TotalSize));
  expect_fault(Bytes(stored.begin(), stored.end() - 1), "do not add up", uint32_t(F::TotalSize));

  // The Huffman plane's parts.
  const size_t huff = 8 + 32 + 2 * size_t(planes::kBlockSymbols + 300);  // after planes 0 and 2 (raw)
  const size_t ends = huff + planes::kLengthsSize;
  size_t used = 0;  // a symbol that occurs
  while (((stored[huff + used / 2] >> (used % 2 * 4)) & 15) == 0) ++used;
  const uint8_t nib = uint8_t(used % 2 * 4);
  expect_fault(with(huff + used / 2, uint8_t((stored[huff + used / 2] & ~(15 << nib)) | 12 << nib)), "code lengths",
               uint32_t(F::CodeLengths));
  expect_fault(with(huff + used / 2, uint8_t(stored[huff + used / 2] & ~(15 << nib))), "code lengths",
               uint32_t(F::CodeLengths));  // one symbol removed: incomplete
  const uint32_t end0 = planes::load_u32(&stored[ends]);
  auto with_end0 = [&](uint32_t v) {
    Bytes s = stored;
    for (int i = 0; i < 4; ++i) s[ends + i] = uint8_t(v >> (8 * i));
    return s;
  };
  expect_fault(with_end0(0), "block ends", uint32_t(F::BlockEnds));
  expect_fault(with_end0(0xffffffff), "block ends", uint32_t(F::BlockEnds));
  expect_fault(with_end0(end0 + 1), "block's codes", uint32_t(F::Stream));
  expect_fault(with_end0(end0 - 1), "block's codes", uint32_t(F::Stream));
  expect_fault(with(ends + 4, uint8_t(stored[ends + 4] + 1)), "block ends", uint32_t(F::BlockEnds));
  // Non-zero padding after block 0's last code (the stream is exact).
  const size_t area = ends + 8;
  {
    Bytes s = stored;
    Guarded g(raw.size());
    s[area + end0 - 1] ^= 1;
    // Either its padding (a format error) or its last code (a different
    // symbol or a stream that no longer ends exactly): never a crash.
    auto st = decode_planes(s, 4, g);
    if (!st.ok()) CHECK(st.error().kind() == ErrorKind::Format);
  }

  // Every byte flipped in turn, and every truncation: refused as a format
  // error or decoded to some bytes (a change in a raw plane or the tail),
  // never a write outside the chunk; the host grid agrees on the verdict.
  for (size_t at = 0; at < stored.size(); at += (at < 200 || at > stored.size() - 64 ? 1 : 97)) {
    for (uint8_t x : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff)}) {
      Bytes s = stored;
      s[at] ^= x;
      Guarded g(raw.size());
      auto st = decode_planes(s, 4, g);
      if (!st.ok()) CHECK(st.error().kind() == ErrorKind::Format);
      Guarded h(raw.size());
      const uint32_t status = grid_decode(s, 4, h.dst());
      CHECK(h.intact());
      CHECK((status == 0) == st.ok());
      if (st.ok()) CHECK(std::equal(g.dst().begin(), g.dst().end(), h.dst().begin()));
    }
  }
  for (size_t n = 0; n < stored.size(); n += 37) {
    Guarded g(raw.size());
    CHECK_FALSE(decode_planes(Bytes(stored.begin(), stored.begin() + n), 4, g).ok());
  }
}

TEST_CASE("planes: the kernel grid on the host decodes a batch exactly as the CPU decoder") {
  // Several chunks in one batch, of several element sizes and lengths (one
  // spanning two slices), one of them damaged: only that one fails.
  std::vector<Bytes> raws = {weights(planes::kSliceElements + 5000, 2), weights(20000, 4, false, 3),
                             weights(700, 8, false, 4), weights(40000, 2, true, 5)};
  raws[2].push_back(0x5a);
  const unsigned es[] = {2, 4, 8, 2};
  std::vector<Bytes> stored;
  for (size_t i = 0; i < raws.size(); ++i) stored.push_back(encode_planes(raws[i], es[i]));
  for (auto& s : stored) REQUIRE_FALSE(s.empty());
  stored[3][stored[3].size() / 2] ^= 0x10;  // inside plane 1's stream area
  std::vector<Bytes> out(raws.size());
  std::vector<planes::PlanesJob> jobs;
  for (size_t i = 0; i < raws.size(); ++i) {
    out[i].assign(raws[i].size(), 0);
    jobs.push_back({stored[i].data(), stored[i].size(), out[i].data(), out[i].size(), es[i], 0, 0});
  }
  std::vector<uint32_t> status(jobs.size(), 0);
  planes::PlanesBatch b{jobs.data(), uint32_t(jobs.size()), planes::assign_slices(jobs.data(), uint32_t(jobs.size())),
                        status.data(), nullptr};
  CHECK(b.slice_count == 2 + 1 + 1 + 1);
  auto st = std::make_unique<planes::SliceState>();
  planes::run_grid_on_host(b, *st);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(status[i] == 0);
    CHECK(out[i] == raws[i]);
  }
  ChunkDecoder dec;
  Guarded g(raws[3].size());
  const bool cpu_ok = dec.decode(Codec::Planes, 2, stored[3], g.dst()).ok();
  CHECK((status[3] == 0) == cpu_ok);
}

TEST_CASE("planes: one code table per 32 blocks; a damaged later table is refused by both decoders") {
  // Two halves with different scales, as a chunk spanning two tensors: the
  // tables differ, and the chunk stores less than with one table would.
  const size_t half = 40 * planes::kBlockSymbols;
  Bytes raw = weights(half, 2, false, 21, 0.02f);
  const Bytes other = weights(half, 2, false, 22, 3.0f);
  raw.insert(raw.end(), other.begin(), other.end());
  const Bytes stored = encode_planes(raw, 2);
  REQUIRE_FALSE(stored.empty());
  REQUIRE(stored[16] == planes::kModeHuffman);
  round_trip(raw, 2);
  const size_t m = raw.size() / 2;
  const size_t lengths = 8 + 16 + (stored[8] == planes::kModeRaw ? m : 0);
  const uint32_t tables = planes::table_count(planes::block_count(uint32_t(m)));
  REQUIRE(tables == 3);
  CHECK(!std::equal(stored.begin() + lengths, stored.begin() + lengths + 128, stored.begin() + lengths + 128));
  // Table 2 (the third) given a length of 12.
  Bytes s = stored;
  size_t at = lengths + 2 * planes::kLengthsSize;
  while ((s[at] & 15) == 0) ++at;
  s[at] = uint8_t((s[at] & 0xf0) | 12);
  Guarded g(raw.size());
  auto st = decode_planes(s, 2, g);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message().find("code lengths") != std::string::npos);
  Guarded h(raw.size());
  CHECK(grid_decode(s, 2, h.dst()) == uint32_t(planes::Fault::CodeLengths));
  CHECK(h.intact());
}
