// The CPU decoder's fast steps (codec/planes/steps.h) against the exact
// per-block steps the CUDA kernel runs (decode_block), on the same streams:
// codes of 1 to 11 bits in runs that overflow a window (the redone steps),
// short codes for the multi-symbol table, and the decoders' plans over
// chunks whose plane codes take each path.
#include <doctest/doctest.h>
#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <vector>
#include "codec/codec.h"
#include "codec/planes/batch.h"
#include "codec/planes/huffman.h"
#include "codec/planes/steps.h"
namespace planes = vramsnap::codec::planes;
using Bytes = std::vector<uint8_t>;
namespace {

constexpr uint32_t B = planes::kBlockSymbols;
constexpr unsigned kBlocks = planes::kWide;

// Eight blocks of one code: the lengths' 128 bytes, the stream area with
// 8 bytes of trailing zeros (as if more stored bytes followed), the ends.
struct Stream {
  uint8_t lengths[planes::kLengthsSize] = {};
  Bytes symbols;  // kBlocks * B
  Bytes area;
  uint32_t ends[kBlocks] = {};
};

Stream make_stream(const planes::Lengths& len, const std::vector<uint8_t>& alphabet, unsigned seed, bool bursts) {
  Stream st;
  for (unsigned s = 0; s < 256; ++s) st.lengths[s >> 1] |= uint8_t(len[s] << ((s & 1) * 4));
  const auto code = planes::canonical_codes(len);
  std::mt19937 rng(seed);
  st.symbols.resize(size_t(kBlocks) * B);
  for (size_t i = 0; i < st.symbols.size(); ++i) {
    // Bursts of the longest codes make eight codes overflow a window.
    const bool burst = bursts && (i / 8) % 16 == 0;
    st.symbols[i] = burst ? alphabet.back() : alphabet[rng() % alphabet.size()];
  }
  for (unsigned j = 0; j < kBlocks; ++j) {
    uint64_t acc = 0;
    unsigned bits = 0;
    for (uint32_t i = 0; i < B; ++i) {
      const uint8_t s = st.symbols[size_t(j) * B + i];
      acc = acc << len[s] | code[s];
      bits += len[s];
      while (bits >= 8) st.area.push_back(uint8_t(acc >> (bits -= 8)));
    }
    if (bits) st.area.push_back(uint8_t(acc << (8 - bits)));
    st.ends[j] = uint32_t(st.area.size());
  }
  st.area.resize(st.area.size() + 8, 0);
  return st;
}

// Decodes the eight blocks with `fast` then the exact steps and check 6;
// also with decode_block alone. Both must give the symbols.
template <class Fast>
void check_agree(const Stream& st, Fast fast) {
  uint16_t table[planes::kTableSize];
  REQUIRE(planes::build_table(st.lengths, table) == planes::Fault::None);
  const uint64_t limit = st.area.size();
  Bytes fast_out(st.symbols.size() + planes::kAhead), exact_out(st.symbols.size());
  planes::BlockStream s[kBlocks];
  uint8_t* stop[kBlocks];
  for (unsigned j = 0; j < kBlocks; ++j) {
    s[j] = {uint64_t(j ? st.ends[j - 1] : 0) * 8, fast_out.data() + size_t(j) * B, B};
    stop[j] = s[j].out + B;
  }
  fast(table, st.area.data(), limit, s, stop);
  for (unsigned j = 0; j < kBlocks; ++j) {
    CAPTURE(j);
    CHECK(s[j].left == uint32_t(stop[j] - s[j].out));
    while (s[j].left) planes::decode_step(table, st.area.data(), limit, 1, s[j]);
    CHECK(planes::finish_block(st.area.data(), st.ends[j], s[j].pos) == planes::Fault::None);
    const uint32_t begin = j ? st.ends[j - 1] : 0;
    CHECK(planes::decode_block(table, st.area.data(), limit, begin, st.ends[j], exact_out.data() + size_t(j) * B, 1,
                               B) == planes::Fault::None);
  }
  fast_out.resize(st.symbols.size());
  CHECK(fast_out == st.symbols);
  CHECK(exact_out == st.symbols);
}

template <unsigned N>
void check_single(const Stream& st) {
  check_agree(st, [](const uint16_t* table, const uint8_t* area, uint64_t limit, planes::BlockStream* s, uint8_t**) {
    uint16_t swapped[planes::kTableSize];
    planes::swap_table(table, swapped);
    planes::single_steps<N>(table, swapped, area, limit, s);
  });
}

void check_multi(const Stream& st) {
  check_agree(st, [](const uint16_t* table, const uint8_t* area, uint64_t limit, planes::BlockStream* s,
                     uint8_t** stop) {
    auto multi = std::make_unique<uint32_t[]>(planes::kMultiWords);
    planes::build_multi_table(table, multi.get());
    for (unsigned l = 0; l < kBlocks; l += planes::kLanes) planes::multi_steps(multi.get(), area, limit, s + l, stop + l);
  });
}

}  // namespace

TEST_CASE("planes steps: single-symbol steps redo windows whose codes overflow, and agree with the exact steps") {
  // Lengths 1..10 for symbols 0..9 and 11 for symbols 10 and 11: a complete
  // code whose bursts of 11-bit codes overflow every window size.
  planes::Lengths len{};
  std::vector<uint8_t> alphabet;
  for (unsigned s = 0; s < 12; ++s) {
    len[s] = uint8_t(s < 10 ? s + 1 : 11);
    alphabet.push_back(uint8_t(s));
  }
  for (bool bursts : {false, true}) {
    const Stream st = make_stream(len, alphabet, 7, bursts);
    check_single<5>(st);
    check_single<6>(st);
    check_single<7>(st);
    check_single<8>(st);
    check_multi(st);
  }
}

TEST_CASE("planes steps: a Huffman code of f16-like bytes (5-9 bits) and of short codes (1-4 bits)") {
  std::mt19937 rng(3);
  planes::Histogram wide{}, narrow{};
  for (unsigned s = 0; s < 256; ++s) wide[s] = 1 + rng() % (s < 64 ? 400 : 40);
  for (unsigned s = 0; s < 6; ++s) narrow[s] = 1000u >> s;
  for (const auto& h : {wide, narrow}) {
    const planes::Lengths len = planes::huffman_lengths(h);
    std::vector<uint8_t> alphabet;
    for (unsigned s = 0; s < 256; ++s)
      for (uint64_t c = 0; h[s] && c < h[s] / 8 + 1; ++c) alphabet.push_back(uint8_t(s));
    const Stream st = make_stream(len, alphabet, 11, false);
    check_single<7>(st);
    check_single<8>(st);
    check_multi(st);
  }
}

TEST_CASE("planes steps: the AVX-512 multi-symbol table equals the portable one") {
  if (!__builtin_cpu_supports("avx512f")) {
    MESSAGE("no AVX-512F on this CPU: only the portable table is used");
    return;
  }
  std::mt19937 rng(5);
  for (unsigned round = 0; round < 40; ++round) {
    // Codes from two symbols to all 256, skewed so lengths run 1 to 11.
    planes::Histogram h{};
    const unsigned used = 2 + rng() % 255;
    for (unsigned i = 0; i < used; ++i) h[rng() % 256] = 1 + (rng() % 4096 >> (rng() % 12));
    if (std::count_if(h.begin(), h.end(), [](uint64_t c) { return c != 0; }) < 2) continue;
    const planes::Lengths len = planes::huffman_lengths(h);
    uint8_t lengths[planes::kLengthsSize] = {};
    for (unsigned s = 0; s < 256; ++s) lengths[s >> 1] |= uint8_t(len[s] << ((s & 1) * 4));
    uint16_t table[planes::kTableSize + planes::kGatherSlack] = {};
    REQUIRE(planes::build_table(lengths, table) == planes::Fault::None);
    std::vector<uint32_t> portable(planes::kMultiWords), wide(planes::kMultiWords);
    planes::build_multi_table(table, portable.data());
    planes::build_multi_table_avx512(table, wide.data());
    CAPTURE(round);
    CHECK(portable == wide);
  }
}

TEST_CASE("planes steps: plans follow the mean code length") {
  planes::Lengths four{}, eight{};
  for (unsigned s = 0; s < 16; ++s) four[s] = 4;
  for (unsigned s = 0; s < 256; ++s) eight[s] = 8;
  uint8_t a[planes::kLengthsSize] = {}, b[planes::kLengthsSize] = {};
  for (unsigned s = 0; s < 256; ++s) {
    a[s >> 1] |= uint8_t(four[s] << ((s & 1) * 4));
    b[s >> 1] |= uint8_t(eight[s] << ((s & 1) * 4));
  }
  CHECK(planes::plan_for(a).multi);
  CHECK_FALSE(planes::plan_for(b).multi);
  CHECK(planes::plan_for(b).per == 6);  // 58 / 8.5 bits
}

TEST_CASE("planes steps: the CPU decoder and the kernel's grid on the host agree on chunks of either plan") {
  // Plane 0: ~6.6-bit codes (single-symbol steps, lock step over eight
  // blocks, then a partial group and a short last block); plane 1: ~2-bit
  // codes (multi-symbol steps).
  const size_t elems = 10 * B + 3;
  Bytes raw(elems * 2);
  std::mt19937 rng(9);
  std::geometric_distribution<int> geo(0.6);
  for (size_t i = 0; i < elems; ++i) {
    raw[2 * i] = uint8_t(rng() % 100);
    raw[2 * i + 1] = uint8_t(std::min(geo(rng), 40));
  }
  vramsnap::codec::ChunkEncoder enc(3);
  auto r = enc.encode(raw, vramsnap::codec::Choice::Planes, 2);
  REQUIRE(r.ok());
  REQUIRE(r->codec == vramsnap::Codec::Planes);
  const Bytes stored(r->stored.begin(), r->stored.end());
  REQUIRE(stored[8] == planes::kModeHuffman);
  REQUIRE(stored[16] == planes::kModeHuffman);
  vramsnap::codec::ChunkDecoder dec;
  Bytes cpu(raw.size()), grid(raw.size());
  REQUIRE(dec.decode(vramsnap::Codec::Planes, 2, stored, cpu).ok());
  planes::PlanesJob job{stored.data(), stored.size(), grid.data(), grid.size(), 2, 0, 0};
  uint32_t status = 0;
  planes::PlanesBatch b{&job, 1, planes::assign_slices(&job, 1), &status, nullptr};
  auto st = std::make_unique<planes::SliceState>();
  planes::run_grid_on_host(b, *st);
  CHECK(status == 0);
  CHECK(cpu == raw);
  CHECK(grid == raw);
  // One flipped bit in plane 0's stream: both refuse the chunk.
  Bytes bad = stored;
  bad[stored.size() / 4] ^= 0x04;
  Bytes out(raw.size());
  const bool cpu_ok = dec.decode(vramsnap::Codec::Planes, 2, bad, out).ok();
  planes::PlanesJob job2{bad.data(), bad.size(), out.data(), out.size(), 2, 0, 0};
  status = 0;
  planes::PlanesBatch b2{&job2, 1, planes::assign_slices(&job2, 1), &status, nullptr};
  planes::run_grid_on_host(b2, *st);
  CHECK(cpu_ok == (status == 0));
}
