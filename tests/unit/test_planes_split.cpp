// The planes codec's f16 split layout (formats/snapshot-v1.md 6.4.1): the
// worked example byte for byte, round trips over lengths, zeros and tails,
// the encoder's choice between split and byte planes, the portable and
// AVX-512 value paths equal, and hostile stored bytes refused (checks
// S1-S7) without a write outside the destination.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/planes/batch.h"
#include "codec/planes/decode.h"
#include "codec/planes/encode.h"
#include "codec/planes/split.h"
#include "crypto/digest.h"
#include "planes_fixture.h"

using vramsnap::Codec;
using vramsnap::ErrorKind;
using vramsnap::codec::ChunkEncoder;
using vramsnap::codec::Choice;
namespace planes = vramsnap::codec::planes;
using Bytes = std::vector<uint8_t>;

namespace {

using planes_fixture::Guarded;

constexpr uint32_t B = planes::kBlockSymbols;

// f16 values of N(0, sigma) (round to zero), a share of them +0 and -0.
Bytes f16_weights(size_t elems, unsigned seed = 1, double zeros = 0.1, float sigma = 0.02f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::uniform_real_distribution<double> u(0, 1);
  Bytes out(elems * 2);
  for (size_t i = 0; i < elems; ++i) {
    uint16_t h = planes_fixture::f16_toward_zero(dist(rng));
    if (u(rng) < zeros) h &= 0x8000;
    out[2 * i] = uint8_t(h);
    out[2 * i + 1] = uint8_t(h >> 8);
  }
  return out;
}

// The split layout of raw, whatever byte planes would store.
Bytes split_of(const Bytes& raw) {
  Bytes sym(raw.size() / 2 + 1), out(raw.size() * 2 + 4096);
  const size_t n = planes::encode_split(raw.data(), raw.size(), sym.data(), out.data(), out.size());
  REQUIRE(n > 0);
  out.resize(n);
  return out;
}

vramsnap::Status decode(const Bytes& stored, Guarded& g) {
  return planes_fixture::decode_into(Codec::Planes, stored, 2, g);
}

void round_trip(const Bytes& raw) {
  CAPTURE(raw.size());
  const Bytes stored = split_of(raw);
  REQUIRE(planes::is_split(stored.data(), stored.size()));
  Guarded g(raw.size());
  const auto st = decode(stored, g);
  INFO((st.ok() ? std::string() : st.error().message()));
  REQUIRE(st.ok());
  CHECK(std::equal(raw.begin(), raw.end(), g.dst().begin()));
}

}  // namespace

TEST_CASE("planes split: the worked example of section 6.4.1, byte for byte") {
  // 1.0, +0, -1.0, -0, 0x3555, 1.0, +0, 0x3bff, then a tail byte 0x7f.
  const uint16_t v[] = {0x3c00, 0x0000, 0xbc00, 0x8000, 0x3555, 0x3c00, 0x0000, 0x3bff};
  Bytes raw;
  for (uint16_t x : v) {
    raw.push_back(uint8_t(x));
    raw.push_back(uint8_t(x >> 8));
  }
  raw.push_back(0x7f);
  const Bytes stored = split_of(raw);
  REQUIRE(stored.size() == 164);
  Bytes expect = {0x0c, 0x02, 0x01, 0x00, 0x08, 0, 0, 0, 0x87, 0, 0, 0, 0x05, 0, 0, 0};
  Bytes table(128, 0);
  table[6] = 0x30;
  table[7] = 0x23;
  table[16] = 0x22;
  expect.insert(expect.end(), table.begin(), table.end());
  for (uint8_t b : {0x03, 0x00, 0x00, 0x00, 0x12, 0xc3, 0xc0, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55, 0x00, 0xff,
                    0x02, 0x10, 0x14, 0x7f})
    expect.push_back(b);
  CHECK(stored == expect);
  CHECK(vramsnap::crypto::to_hex(vramsnap::crypto::sha256(stored)) ==
        "9324b3f3091ccbafccdd8675797fc46e23e990dc20cf60c02325f65a271b14af");
  CHECK(vramsnap::crypto::to_hex(vramsnap::crypto::sha256(raw)) ==
        "7fb3721384fb64be29557355c58fbe0cfa472a181be6d96657c415e05ab85812");
  // The writer picks this layout for it too (byte planes would store more).
  ChunkEncoder enc(3);
  auto r = enc.encode(raw, Choice::Planes, 2, true);
  REQUIRE(r.ok());
  if (r->codec == Codec::Planes) CHECK(Bytes(r->stored.begin(), r->stored.end()) == expect);
  round_trip(raw);
}

TEST_CASE("planes split: round trips over lengths, table groups, zeros and a tail") {
  for (size_t elems : {size_t(1), size_t(3), size_t(33), size_t(100), size_t(B - 1), size_t(B), size_t(B + 1),
                       size_t(4 * B + 17), size_t(33 * B + 5)}) {
    for (double zeros : {0.0, 0.1, 0.9}) {
      Bytes raw = f16_weights(elems, unsigned(elems), zeros);
      round_trip(raw);
      raw.push_back(0x5a);  // an odd raw size: one tail byte
      round_trip(raw);
    }
  }
  // Every value +0, every value -0, every exponent with every mantissa bit.
  round_trip(Bytes(2 * B + 2, 0));
  Bytes neg(2 * 1000);
  for (size_t i = 1; i < neg.size(); i += 2) neg[i] = 0x80;
  round_trip(neg);
  Bytes all(2 * 65536);
  for (uint32_t x = 0; x < 65536; ++x) {
    all[2 * x] = uint8_t(x);
    all[2 * x + 1] = uint8_t(x >> 8);
  }
  round_trip(all);
}

TEST_CASE("planes split: the encoder stores f16 weights split, bf16 as byte planes") {
  ChunkEncoder enc(3);
  const Bytes f16 = f16_weights(1 << 17, 3, 0.1);
  auto r = enc.encode(f16, Choice::Planes, 2, true);
  REQUIRE(r.ok());
  REQUIRE(r->codec == Codec::Planes);
  CHECK(planes::is_split(r->stored.data(), r->stored.size()));
  CHECK(r->features == vramsnap::codec::chunk_features(Codec::Planes, r->stored));
  CHECK(r->features != 0);
  Guarded g(f16.size());
  REQUIRE(decode(Bytes(r->stored.begin(), r->stored.end()), g).ok());
  CHECK(std::equal(f16.begin(), f16.end(), g.dst().begin()));
  // bf16: the high byte of f32 weights; its exponent field is not f16's.
  std::mt19937 rng(4);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  Bytes bf16(2 << 17);
  for (size_t i = 0; i < bf16.size(); i += 2) {
    const float f = dist(rng);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bf16[i] = uint8_t(bits >> 16);
    bf16[i + 1] = uint8_t(bits >> 24);
  }
  r = enc.encode(bf16, Choice::Planes, 2, true);
  REQUIRE(r.ok());
  REQUIRE(r->codec == Codec::Planes);
  CHECK_FALSE(planes::is_split(r->stored.data(), r->stored.size()));
  CHECK(r->features == 0);
}

TEST_CASE("planes split: the fast and the portable symbol paths decode as the planes decoder does") {
  if (!planes::split_fast_path()) MESSAGE("this CPU lacks AVX-512 VBMI2 or BMI2: both calls take the portable path");
  // Short chunks, a short last block, several table groups (the quad table
  // is rebuilt per group), codes of 1 to 11 bits.
  for (size_t elems : {size_t(5), size_t(B - 1), size_t(3 * B + 100), size_t(4 * B), size_t(33 * B + 5),
                       size_t(70 * B + 3)}) {
    for (float sigma : {0.02f, 3.0f}) {
      const Bytes raw = f16_weights(elems, unsigned(elems) + 7, 0.1, sigma);
      const Bytes stored = split_of(raw);
      planes::SplitLayout lay{};
      REQUIRE(planes::parse_split(stored.data(), stored.size(), raw.size(), 2, &lay) == planes::Fault::None);
      const uint32_t m = lay.elements;
      Bytes ref(m + planes::kPlaneSlack), fast(m + planes::kPlaneSlack), slow(m + planes::kPlaneSlack);
      REQUIRE(planes::decode_huffman_plane(stored.data(), stored.size(), lay.symbols, m, ref.data(), 0).ok());
      uint32_t block = 0;
      CAPTURE(elems);
      CAPTURE(sigma);
      CHECK(planes::split_symbols(stored.data(), stored.size(), lay.symbols, m, fast.data(), true, &block) ==
            planes::Fault::None);
      CHECK(planes::split_symbols(stored.data(), stored.size(), lay.symbols, m, slow.data(), false, &block) ==
            planes::Fault::None);
      CHECK(std::equal(ref.begin(), ref.begin() + m, fast.begin()));
      CHECK(std::equal(ref.begin(), ref.begin() + m, slow.begin()));
      Bytes a(2 * size_t(m)), b(2 * size_t(m));
      CHECK(planes::split_values_checked(ref.data(), lay, stored.data(), a.data(), true, &block) ==
            planes::Fault::None);
      CHECK(planes::split_values_checked(ref.data(), lay, stored.data(), b.data(), false, &block) ==
            planes::Fault::None);
      CHECK(std::equal(a.begin(), a.end(), raw.begin()));
      CHECK(a == b);
    }
  }
}

TEST_CASE("planes split: the fast and the portable value paths write the same values, refuse the same counts") {
  // Symbols of any mix (all 34, zeros only, mostly zeros) with random value
  // bytes, in a stored image of counts, low bytes and bit planes.
  for (uint32_t m : {1u, 63u, 64u, 65u, 1000u, B, B + 64, 3 * B + 17, 17 * B}) {
    for (unsigned seed : {1u, 2u, 3u}) {
      std::mt19937 rng(seed * 1000 + m);
      const uint32_t k = planes::block_count(m);
      Bytes sym(m + planes::kPlaneSlack);
      std::vector<uint32_t> nz(k, 0);
      for (uint32_t i = 0; i < m; ++i) {
        const unsigned pick = rng() % (seed == 1 ? 34 : seed == 2 ? 40 : 4);
        sym[i] = uint8_t(pick < 34 ? pick : 32 + pick % 2);
        nz[i / B] += sym[i] < planes::kSymPosZero;
      }
      for (uint32_t j = 1; j < k; ++j) nz[j] += nz[j - 1];
      const uint32_t z = nz[k - 1], w = (z + 7) / 8;
      planes::SplitLayout lay{};
      lay.elements = m;
      lay.nonzero = z;
      lay.symbols.blocks = k;
      lay.counts_offset = 0;
      lay.low_offset = 4 * k;
      lay.bits_offset = 4 * k + z;
      lay.bits_size = w;
      Bytes img(4 * size_t(k) + z + 3 * size_t(w));
      for (uint32_t j = 0; j < k; ++j)
        for (int b = 0; b < 4; ++b) img[4 * j + b] = uint8_t(nz[j] >> (8 * b));
      for (size_t i = 4 * size_t(k); i < img.size(); ++i) img[i] = uint8_t(rng());
      Bytes a(2 * size_t(m)), b(2 * size_t(m));
      uint32_t ba = 0, bb = 0;
      CAPTURE(m);
      CAPTURE(seed);
      CHECK(planes::split_values_checked(sym.data(), lay, img.data(), a.data(), false, &ba) == planes::Fault::None);
      CHECK(planes::split_values_checked(sym.data(), lay, img.data(), b.data(), true, &bb) == planes::Fault::None);
      CHECK(a == b);
      // A non-zero symbol of the last block turned into +0: that block's
      // count is one too many, whichever path, and no read leaves the image.
      uint32_t at = m;
      while (at-- > (k - 1) * B)
        if (sym[at] < planes::kSymPosZero) break;
      if (at + 1 == (k - 1) * B || at >= m) continue;
      sym[at] = planes::kSymPosZero;
      CHECK(planes::split_values_checked(sym.data(), lay, img.data(), a.data(), false, &ba) ==
            planes::Fault::SplitCounts);
      CHECK(planes::split_values_checked(sym.data(), lay, img.data(), b.data(), true, &bb) ==
            planes::Fault::SplitCounts);
      CHECK(ba == k - 1);
      CHECK(bb == k - 1);
    }
  }
}

TEST_CASE("planes split: every damaged field is a format error, never a write outside the chunk") {
  Bytes raw = f16_weights(2 * B + 300, 7, 0.2);
  raw.push_back(0x11);
  const Bytes stored = split_of(raw);
  round_trip(raw);
  const uint32_t m = uint32_t(raw.size() / 2), k = planes::block_count(m);
  planes::SplitLayout lay{};
  REQUIRE(planes::parse_split(stored.data(), stored.size(), raw.size(), 2, &lay) == planes::Fault::None);
  REQUIRE(k == 3);

  auto refused = [&](const Bytes& s, const char* needle) {
    Guarded g(raw.size());
    auto st = decode(s, g);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind() == ErrorKind::Format);
    INFO(st.error().message());
    CHECK(st.error().message().find(needle) != std::string::npos);
  };
  auto with = [&](size_t at, uint8_t v) {
    Bytes s = stored;
    s[at] = v;
    return s;
  };
  auto put32 = [](Bytes& s, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) s[at + i] = uint8_t(v >> (8 * i));
  };
  refused(with(3, 1), "bad header");  // S1: byte 3 reserved
  refused(with(2, 2), "bad header");  // layout 2 is not defined
  refused(Bytes(stored.begin(), stored.end() - 1), "add up");                      // truncated tail
  refused(Bytes(stored.begin(), stored.begin() + stored.size() / 2), "add up");    // truncated bit planes / bytes
  refused(Bytes(stored.begin(), stored.begin() + 12), "shorter");
  {
    Bytes s = stored;  // S2: z past m
    put32(s, 12, m + 1);
    refused(s, "size");
  }
  {
    Bytes s = stored;  // z one less: the byte array and planes no longer add up
    put32(s, 12, lay.nonzero - 1);
    refused(s, "add up");
  }
  {
    // S3: a code for symbol 34, the length of a coded symbol moved there
    // (the code stays complete).
    Bytes s = stored;
    const size_t t = planes::kSplitHeadSize;
    unsigned sym = 0;
    while (((s[t + sym / 2] >> (sym % 2 * 4)) & 15) == 0) ++sym;
    const uint8_t len = (s[t + sym / 2] >> (sym % 2 * 4)) & 15;
    s[t + sym / 2] &= uint8_t(sym % 2 ? 0x0f : 0xf0);
    s[t + 17] = len;  // symbol 34: low nibble of byte 17
    refused(s, "past 33");
  }
  {
    Bytes s = stored;  // S5: counts decreasing
    put32(s, lay.counts_offset, planes::load_u32(s.data() + lay.counts_offset + 4) + 1);
    refused(s, "non-zero counts");
  }
  {
    Bytes s = stored;  // S5: the last count is not z
    put32(s, lay.counts_offset + 8, lay.nonzero - 1);
    refused(s, "non-zero counts");
  }
  {
    // S6: counts that are in order and end at z but split the blocks' values
    // differently from their symbols.
    Bytes s = stored;
    const uint32_t c0 = planes::load_u32(s.data() + lay.counts_offset);
    put32(s, lay.counts_offset, c0 - 1);
    refused(s, "non-zero counts");
  }
  if (lay.nonzero % 8) {  // S7: a padding bit of the last bit plane
    Bytes s = stored;
    s[lay.tail_offset - 1] |= 0x80;
    refused(s, "non-zero counts");
  }
  {
    Bytes s = stored;  // S6: a flipped bit in the symbols' stream
    s[lay.symbols.stream_offset + 5] ^= 0x20;
    Guarded g(raw.size());
    auto st = decode(s, g);
    if (!st.ok()) CHECK(st.error().kind() == ErrorKind::Format);
    else CHECK_FALSE(std::equal(raw.begin(), raw.end(), g.dst().begin()));
  }
}

TEST_CASE("planes split: the kernel grid on the host decodes split chunks as the CPU decoder, faults alike") {
  // A batch of a byte-planes bf16 chunk and split chunks, one spanning two
  // slices and one with a tail byte, and damaged copies: every chunk's
  // status matches the CPU decoder's verdict, and decoded bytes match.
  Bytes big = f16_weights(planes::kSliceElements + 3 * B + 7, 11, 0.1);
  Bytes small = f16_weights(5000, 12, 0.3);
  small.push_back(0x42);
  Bytes bf16(2 * 9000);
  for (size_t i = 0; i < bf16.size(); i += 2) {
    bf16[i] = uint8_t(i * 7);
    bf16[i + 1] = uint8_t(0x3c + i % 3);
  }
  std::vector<Bytes> raws = {big, small, bf16};
  std::vector<Bytes> stored = {split_of(big), split_of(small)};
  {
    ChunkEncoder enc(3);
    auto r = enc.encode(bf16, Choice::Planes, 2, true);
    REQUIRE(r.ok());
    REQUIRE(r->codec == Codec::Planes);
    stored.emplace_back(r->stored.begin(), r->stored.end());
    CHECK_FALSE(planes::is_split(stored.back().data(), stored.back().size()));
  }
  planes::SplitLayout lay{};
  REQUIRE(planes::parse_split(stored[1].data(), stored[1].size(), small.size(), 2, &lay) == planes::Fault::None);
  auto damage = [&](size_t at, uint8_t x) {
    Bytes s = stored[1];
    s[at] ^= x;
    raws.push_back(small);
    stored.push_back(s);
  };
  damage(planes::kSplitHeadSize + 17, 0x01);            // a code for symbol 34 (or an incomplete code)
  damage(lay.counts_offset, 0x01);                      // block 0's count
  damage(lay.symbols.stream_offset + 3, 0x10);          // the symbols' stream
  damage(lay.low_offset + 3, 0x01);                     // a low byte: decodes, to other values
  damage(lay.tail_offset - 1, 0x80);                    // a bit past z, or a mantissa bit
  std::vector<Bytes> out(raws.size());
  std::vector<planes::PlanesJob> jobs;
  for (size_t i = 0; i < raws.size(); ++i) {
    out[i].assign(raws[i].size(), 0);
    jobs.push_back({stored[i].data(), stored[i].size(), out[i].data(), out[i].size(), 2, 0, 0});
  }
  std::vector<uint32_t> status(jobs.size(), 0);
  planes::PlanesBatch b{jobs.data(), uint32_t(jobs.size()), planes::assign_slices(jobs.data(), uint32_t(jobs.size())),
                        status.data(), nullptr};
  auto st = std::make_unique<planes::SliceState>();
  planes::run_grid_on_host(b, *st);
  for (size_t i = 0; i < raws.size(); ++i) {
    CAPTURE(i);
    Guarded g(raws[i].size());
    const auto cpu = decode(stored[i], g);
    CHECK((status[i] == 0) == cpu.ok());
    if (cpu.ok()) CHECK(std::equal(out[i].begin(), out[i].end(), g.dst().begin()));
    if (i < 3) {
      CHECK(status[i] == 0);
      CHECK(out[i] == raws[i]);
    }
  }
  CHECK(status[3] != 0);
  CHECK(status[4] == uint32_t(planes::Fault::SplitCounts));
  CHECK(status[6] == 0);  // a changed low byte is only found by the chunk hash
}
