// libFuzzer target for the planes and palette codecs (formats/snapshot-v1.md
// 6.4, 6.5), which share the Huffman blocks and the GPU kernel.
//
// Input: [selector u8][declared raw size u32 LE][stored bytes...]
// bit 7 of the selector picks palette (else planes), elem = 2 << ((selector
// & 0x7f) % 3); the declared size is reduced modulo
// kMaxRaw + 1 (at least 1). The stored bytes are decoded twice into guarded
// buffers, by the CPU decoder and by the GPU kernel's grid run on the host:
// both must accept or both refuse, write nothing outside the chunk, and on
// success produce the same bytes (byte planes and the f16 split layout of
// 6.4.1 alike). Then the stored bytes, taken as raw data,
// must round-trip through the same codec's encoder (palette hands chunks of
// too many values to planes).
//
// Build with -DVRAMSNAP_FUZZ_PLANES_SEEDS (no -fsanitize=fuzzer) to get a
// program that writes the seed corpus: `fuzz_planes_seeds tests/fuzz/corpus/planes`.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "codec/codec.h"
#include "codec/planes/batch.h"
#include "codec/planes/split.h"  // the seeds
#include "codec_round_trip.h"

namespace {

using vramsnap::Codec;
using vramsnap::codec::ChunkDecoder;
using vramsnap::codec::ChunkEncoder;
using vramsnap::codec::Choice;
namespace planes = vramsnap::codec::planes;

using fuzzcheck::fail;

constexpr size_t kHeader = 5;
constexpr uint32_t kMaxRaw = 1u << 20;

uint32_t load_u32(const uint8_t* p) { return uint32_t(p[0]) | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  static ChunkDecoder decoder;
  static ChunkEncoder encoder(1);
  static auto slice = std::make_unique<planes::SliceState>();

  const bool pal = data[0] & 0x80;
  const Codec codec = pal ? Codec::Palette : Codec::Planes;
  const unsigned elem = 2u << ((data[0] & 0x7f) % 3);
  const uint32_t declared = std::max<uint32_t>(1, load_u32(data + 1) % (kMaxRaw + 1));
  const std::span<const uint8_t> stored(data + kHeader, size - kHeader);

  fuzzcheck::Guarded cpu(declared);
  const std::span<uint8_t> dst = cpu.span();
  const auto st = decoder.decode(codec, uint8_t(elem), stored, dst);
  cpu.check();
  if (!st.ok() && (st.error().kind() != vramsnap::ErrorKind::Format || st.error().message().empty())) fail();

  fuzzcheck::Guarded grid(declared);
  planes::PlanesJob job{stored.data(), stored.size(), grid.span().data(), declared, elem, 0, pal ? 1u : 0u};
  uint32_t status = 0;
  const planes::PlanesBatch batch{&job, 1, planes::assign_slices(&job, 1), &status, nullptr};
  planes::run_grid_on_host(batch, *slice);
  grid.check();
  if ((status == 0) != st.ok()) fail();
  if (st.ok() && !std::equal(dst.begin(), dst.end(), grid.span().begin())) fail();

  // Round trip of the stored bytes as raw data.
  if (stored.empty()) return 0;
  fuzzcheck::check_round_trip(encoder, decoder, stored, pal ? Choice::Palette : Choice::Planes, elem);
  return 0;
}

#ifdef VRAMSNAP_FUZZ_PLANES_SEEDS
#include <fstream>
#include <string>

namespace {

void write_seed(const std::string& dir, const char* name, unsigned selector, uint32_t raw_size,
                std::span<const uint8_t> stored) {
  std::vector<uint8_t> out = {uint8_t(selector), uint8_t(raw_size), uint8_t(raw_size >> 8), uint8_t(raw_size >> 16),
                              uint8_t(raw_size >> 24)};
  out.insert(out.end(), stored.begin(), stored.end());
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
}

std::vector<uint8_t> weights(size_t elems, unsigned elem, unsigned seed) {
  return fuzzcheck::weights(elems * elem, elem, seed);
}

std::vector<uint8_t> encoded(ChunkEncoder& enc, std::span<const uint8_t> raw, unsigned elem,
                             Codec codec = Codec::Planes) {
  return fuzzcheck::encoded(enc, raw, codec == Codec::Palette ? Choice::Palette : Choice::Planes, elem, codec);
}

// Weights with their low mantissa bits cleared: few distinct values (about
// 80), as after dequantization.
std::vector<uint8_t> quantized(size_t elems, unsigned elem, unsigned seed) {
  std::vector<uint8_t> out = weights(elems, elem, seed);
  for (size_t i = 0; i < elems; ++i) {
    uint64_t bits = 0;
    for (unsigned b = 0; b < elem; ++b) bits |= uint64_t(out[i * elem + b]) << (8 * b);
    // Keep sign, exponent and two mantissa bits (weights() puts an f32 at
    // bit 29 of an 8-byte element).
    const unsigned keep = elem == 8 ? 14 : 11;
    bits &= ~((uint64_t(1) << (8 * elem - keep)) - 1);
    for (unsigned b = 0; b < elem; ++b) out[i * elem + b] = uint8_t(bits >> (8 * b));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  ChunkEncoder enc(3);
  // Selector 0: elem 2, 1: elem 4, 2: elem 8.
  const auto bf16 = weights(9000, 2, 1);  // three blocks, the last partial
  write_seed(dir, "bf16-3-blocks", 0, uint32_t(bf16.size()), encoded(enc, bf16, 2));
  auto f32 = weights(3000, 4, 2);
  f32.push_back(0x77);  // a tail byte
  write_seed(dir, "f32-tail", 1, uint32_t(f32.size()), encoded(enc, f32, 4));
  const auto f64 = weights(2000, 8, 3);
  write_seed(dir, "f64", 2, uint32_t(f64.size()), encoded(enc, f64, 8));
  std::vector<uint8_t> constant(4096);
  for (size_t i = 0; i < constant.size(); ++i) constant[i] = i % 2 ? 0x3f : 0x80;
  write_seed(dir, "constant", 0, 4096, encoded(enc, constant, 2));

  // Broken on purpose: a length of 12, ends past the area, padding bits.
  auto bad = encoded(enc, bf16, 2);
  auto broken = bad;
  broken[8 + 16 + load_u32(&bad[12]) + 60] = 0x0c;  // plane 1's table follows plane 0's payload
  write_seed(dir, "broken-lengths", 0, uint32_t(bf16.size()), broken);
  broken = bad;
  broken[broken.size() - 1] ^= 0x01;
  write_seed(dir, "broken-last-byte", 0, uint32_t(bf16.size()), broken);
  write_seed(dir, "broken-truncated", 0, uint32_t(bf16.size()), std::span(bad).first(bad.size() / 2));
  write_seed(dir, "broken-size", 0, uint32_t(bf16.size() + 1), bad);

  // Palette (selector bit 7): several groups, element sizes, a tail.
  const auto qbf16 = quantized(140000, 2, 4);  // two table groups
  write_seed(dir, "palette-bf16-2-groups", 0x80, uint32_t(qbf16.size()), encoded(enc, qbf16, 2, Codec::Palette));
  auto qf32 = quantized(3000, 4, 5);
  qf32.push_back(0x42);
  write_seed(dir, "palette-f32-tail", 0x81, uint32_t(qf32.size()), encoded(enc, qf32, 4, Codec::Palette));
  const auto qf64 = quantized(2000, 8, 6);
  write_seed(dir, "palette-f64", 0x82, uint32_t(qf64.size()), encoded(enc, qf64, 8, Codec::Palette));
  // Broken: a table size of 1, values out of order, the last byte, truncated.
  const auto pal = encoded(enc, quantized(9000, 2, 7), 2, Codec::Palette);
  auto pbroken = pal;
  pbroken[8] = 1;
  pbroken[9] = 0;
  write_seed(dir, "palette-broken-size", 0x80, 18000, pbroken);
  pbroken = pal;
  std::swap(pbroken[10], pbroken[12]);
  std::swap(pbroken[11], pbroken[13]);
  write_seed(dir, "palette-broken-order", 0x80, 18000, pbroken);
  pbroken = pal;
  pbroken[pbroken.size() - 1] ^= 0x01;
  write_seed(dir, "palette-broken-last-byte", 0x80, 18000, pbroken);
  write_seed(dir, "palette-broken-truncated", 0x80, 18000, std::span(pal).first(pal.size() / 2));

  // The f16 split layout: f16 weights with a share of +0 and -0, three
  // blocks with a tail byte, and two table groups (mostly zeros, to stay
  // small); then broken ones: a code for symbol 34, a count moved, cut short.
  auto f16 = [](size_t n, unsigned seed, unsigned zero_in_16) {
    std::vector<uint8_t> out(2 * n);
    uint32_t x = seed;
    for (size_t i = 0; i < n; ++i) {
      x = x * 1664525u + 1013904223u;
      uint16_t h = uint16_t(0x2000 + (x >> 8) % 0x1800) | uint16_t(x >> 31 << 15);  // exponents 8-13
      if ((x >> 4) % 16 < zero_in_16) h &= 0x8000;
      out[2 * i] = uint8_t(h);
      out[2 * i + 1] = uint8_t(h >> 8);
    }
    return out;
  };
  auto split = f16(9000, 7, 3);
  split.push_back(0x7f);
  const auto sp = encoded(enc, split, 2);
  if (!planes::is_split(sp.data(), sp.size())) return 3;
  write_seed(dir, "f16split-3-blocks", 0, uint32_t(split.size()), sp);
  const auto groups = f16(33 * planes::kBlockSymbols + 11, 8, 15);
  const auto sg = encoded(enc, groups, 2);
  if (!planes::is_split(sg.data(), sg.size())) return 3;
  write_seed(dir, "f16split-2-groups", 0, uint32_t(groups.size()), sg);
  broken = sp;
  for (unsigned sym = 0; sym < 34; ++sym) {  // symbol 34 given the first coded symbol's length
    const uint8_t len = uint8_t(broken[16 + sym / 2] >> (sym % 2 * 4) & 15);
    if (!len) continue;
    broken[16 + sym / 2] &= uint8_t(sym % 2 ? 0x0f : 0xf0);
    broken[16 + 17] = len;
    break;
  }
  write_seed(dir, "f16split-broken-symbol", 0, uint32_t(split.size()), broken);
  broken = sp;
  broken[16 + load_u32(&sp[8])] -= 1;  // block 0's non-zero count
  write_seed(dir, "f16split-broken-count", 0, uint32_t(split.size()), broken);
  write_seed(dir, "f16split-broken-truncated", 0, uint32_t(split.size()), std::span(sp).first(sp.size() - 3));
  return 0;
}
#endif
