// A study of an f16 layout for the planes codec, not part of the library or
// its format: bench-results/planes-f16-study-2026-11-30.md has the results.
//
// Byte planes leave f16 with two nearly incompressible planes that a core
// decodes one Huffman symbol per byte. This layout splits an f16 value at
// its fields instead: one Huffman-coded symbol per element, the 5-bit
// exponent or one of two zero symbols (+0 and -0, which store nothing
// else), and for every other element its 8 low mantissa bits as a byte and
// its sign and 2 high mantissa bits as three bit planes. The symbols have
// short codes (about 3 bits), so they take the multi-symbol steps of the
// bf16 exponent plane; the rest is expanded with AVX-512 VBMI2 and BMI2.
//
// It reports, on the same f16 file and in the same run: the stored size of
// shuffle+zstd (level 3), the planes codec and this layout, 4 MiB chunks;
// and one core's decode speed (thread CPU time, median of interleaved
// passes) of each. Build from the repository root after building `build/`:
//
//   g++ -O2 -std=c++20 -Ilibsnap/include -Ilibsnap/src scripts/f16-split-study.cpp
//     build/libsnap/libvramsnap_static.a -lzstd -lcurl -lcrypto -lfmt
//     /usr/local/cuda/lib/libcudart_static.a -ldl -lrt -lpthread -o build/f16-split-study
//   build/f16-split-study real.f16 [rounds]
#include <immintrin.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codec/codec.h"
#include "codec/planes/huffman.h"
#include "codec/planes/steps.h"

namespace planes = vramsnap::codec::planes;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr uint32_t B = planes::kBlockSymbols;
constexpr uint32_t kGroup = planes::kBlocksPerTable * B;
constexpr uint8_t kZeroPos = 32, kZeroNeg = 33;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

uint8_t symbol_of(uint16_t x) { return x == 0 ? kZeroPos : x == 0x8000 ? kZeroNeg : uint8_t((x >> 10) & 31); }

// One chunk in the split layout. Sizes count what a format would store:
// 128 bytes of code lengths per group, two u32 per block (stream end and,
// for a GPU thread, the count of non-zero elements before the block).
struct Split {
  uint32_t m = 0;
  std::vector<uint8_t> lengths;  // 128 per group
  std::vector<uint32_t> ends;    // per block
  Bytes area;                    // symbol streams
  Bytes low;                     // low mantissa byte of each non-zero element
  Bytes sign, m9, m8;            // bit planes over the non-zero elements, LSB first
  size_t stored() const {
    return 8 + lengths.size() + 8 * ends.size() + area.size() + low.size() + sign.size() + m9.size() + m8.size();
  }
};

void put_bit(Bytes& plane, size_t i, unsigned bit) {
  if (i / 8 >= plane.size()) plane.push_back(0);
  plane[i / 8] |= uint8_t(bit << (i % 8));
}

Split encode_split(const uint16_t* x, uint32_t m) {
  Split c;
  c.m = m;
  size_t nz = 0;
  for (uint32_t g0 = 0; g0 < m; g0 += kGroup) {
    const uint32_t gn = std::min(kGroup, m - g0);
    planes::Histogram h{};
    for (uint32_t i = 0; i < gn; ++i) ++h[symbol_of(x[g0 + i])];
    if (std::count_if(h.begin(), h.end(), [](uint64_t v) { return v; }) < 2) ++h[h[0] ? 1 : 0];  // a complete code
    const planes::Lengths len = planes::huffman_lengths(h);
    const auto code = planes::canonical_codes(len);
    uint8_t packed[planes::kLengthsSize] = {};
    for (unsigned s = 0; s < 256; ++s) packed[s >> 1] |= uint8_t(len[s] << ((s & 1) * 4));
    c.lengths.insert(c.lengths.end(), packed, packed + planes::kLengthsSize);
    for (uint32_t b0 = g0; b0 < g0 + gn; b0 += B) {
      uint64_t acc = 0;
      unsigned bits = 0;
      for (uint32_t i = b0; i < std::min(b0 + B, m); ++i) {
        const uint8_t s = symbol_of(x[i]);
        acc = acc << len[s] | code[s];
        bits += len[s];
        while (bits >= 8) c.area.push_back(uint8_t(acc >> (bits -= 8)));
        if (s < 32) {
          c.low.push_back(uint8_t(x[i]));
          put_bit(c.sign, nz, x[i] >> 15);
          put_bit(c.m9, nz, (x[i] >> 9) & 1);
          put_bit(c.m8, nz, (x[i] >> 8) & 1);
          ++nz;
        }
      }
      if (bits) c.area.push_back(uint8_t(acc << (8 - bits)));
      c.ends.push_back(uint32_t(c.area.size()));
    }
  }
  return c;
}

// n <= 32 bits of an LSB-first bit plane from bit `at`.
inline uint32_t take_bits(const uint8_t* plane, size_t at, unsigned n) {
  uint64_t w;
  memcpy(&w, plane + at / 8, 8);  // planes carry 8 bytes of slack
  return uint32_t(w >> (at % 8)) & uint32_t((uint64_t(1) << n) - 1);
}

// Symbols [first, first + n) to f16 values, 32 at a time: a non-zero
// element takes the next low byte (expand-load) and the next bit of each
// bit plane (pdep onto the non-zero lanes).
struct Cursor {
  size_t low = 0, bit = 0;
};
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,bmi2"))) void combine(const Split& c, const uint8_t* sym,
                                                                                   uint32_t n, uint16_t* out,
                                                                                   Cursor& at) {
  const __m256i k32 = _mm256_set1_epi8(32), k33 = _mm256_set1_epi8(kZeroNeg);
  uint32_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sym + i));
    const __mmask32 nz = _mm256_cmplt_epu8_mask(s, k32);
    const __mmask32 neg0 = _mm256_cmpeq_epi8_mask(s, k33);
    const unsigned k = unsigned(__builtin_popcount(nz));
    const __m256i low = _mm256_maskz_expandloadu_epi8(nz, c.low.data() + at.low);
    at.low += k;
    const uint32_t sg = _pdep_u32(take_bits(c.sign.data(), at.bit, k), nz);
    const uint32_t b9 = _pdep_u32(take_bits(c.m9.data(), at.bit, k), nz);
    const uint32_t b8 = _pdep_u32(take_bits(c.m8.data(), at.bit, k), nz);
    at.bit += k;
    __m256i hi = _mm256_maskz_add_epi8(nz, s, s);
    hi = _mm256_add_epi8(hi, hi);
    hi = _mm256_mask_add_epi8(hi, sg | neg0, hi, _mm256_set1_epi8(char(0x80)));  // bits not yet set: add is or
    hi = _mm256_mask_add_epi8(hi, b9, hi, _mm256_set1_epi8(2));
    hi = _mm256_mask_add_epi8(hi, b8, hi, _mm256_set1_epi8(1));
    const __m512i v = _mm512_or_si512(_mm512_cvtepu8_epi16(low), _mm512_slli_epi16(_mm512_cvtepu8_epi16(hi), 8));
    _mm512_storeu_si512(out + i, v);
  }
  for (; i < n; ++i) {
    const uint8_t s = sym[i];
    if (s >= 32) {
      out[i] = s == kZeroNeg ? 0x8000 : 0;
      continue;
    }
    const size_t b = at.bit++;
    out[i] = uint16_t((c.sign[b / 8] >> (b % 8) & 1) << 15 | s << 10 | (c.m9[b / 8] >> (b % 8) & 1) << 9 |
                      (c.m8[b / 8] >> (b % 8) & 1) << 8 | c.low[at.low++]);
  }
}

struct Decoder {
  Bytes sym;
  uint16_t table[planes::kTableSize + planes::kGatherSlack];
  uint32_t multi[planes::kMultiWords];
};

// The planes decoder's multi-symbol steps over each group's blocks, four
// in flight, the exact steps to finish them, then the group's values.
bool decode_split(const Split& c, Decoder& d, uint16_t* out) {
  d.sym.resize(size_t(c.m) + 64);
  const uint8_t* area = c.area.data();
  const uint64_t limit = c.area.size();
  Cursor at;
  const uint32_t k = uint32_t(c.ends.size());
  for (uint32_t g = 0; uint64_t(g) * kGroup < c.m; ++g) {
    if (planes::build_table(c.lengths.data() + size_t(g) * planes::kLengthsSize, d.table) != planes::Fault::None)
      return false;
    d.table[planes::kTableSize] = d.table[planes::kTableSize + 1] = 0;
    planes::build_multi_table_avx512(d.table, d.multi);
    const uint32_t j_end = std::min(k, (g + 1) * planes::kBlocksPerTable);
    for (uint32_t j0 = g * planes::kBlocksPerTable; j0 < j_end; j0 += planes::kLanes) {
      const unsigned lanes = std::min<uint32_t>(planes::kLanes, j_end - j0);
      planes::BlockStream s[planes::kLanes];
      uint8_t* stop[planes::kLanes];
      for (unsigned l = 0; l < lanes; ++l) {
        const uint32_t j = j0 + l, first = j * B;
        s[l] = {uint64_t(j ? c.ends[j - 1] : 0) * 8, d.sym.data() + first, std::min(B, c.m - first)};
        stop[l] = s[l].out + s[l].left;
      }
      if (lanes == planes::kLanes) planes::multi_steps(d.multi, area, limit, s, stop);
      for (unsigned l = 0; l < lanes; ++l) {
        while (s[l].left) planes::decode_step(d.table, area, limit, 1, s[l]);
        if (planes::finish_block(area, c.ends[j0 + l], s[l].pos) != planes::Fault::None) return false;
      }
    }
    const uint32_t first = g * kGroup;
    combine(c, d.sym.data() + first, std::min(kGroup, c.m - first), out + first, at);
  }
  return at.low + 8 == c.low.size();  // the slack
}

struct Codec {
  vramsnap::Codec codec;
  uint8_t elem;
  Bytes stored;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE.f16 [rounds]\n", argv[0]);
    return 2;
  }
  if (!__builtin_cpu_supports("avx512vbmi2") || !__builtin_cpu_supports("bmi2")) {
    fprintf(stderr, "this study needs AVX-512 VBMI2 and BMI2\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) return 2;
  Bytes raw;
  fseek(f, 0, SEEK_END);
  raw.resize(size_t(ftell(f)) & ~size_t(1));
  fseek(f, 0, SEEK_SET);
  if (fread(raw.data(), 1, raw.size(), f) != raw.size()) return 2;
  fclose(f);
  const int rounds = argc > 2 ? atoi(argv[2]) : 5;
  const size_t chunk = 4 << 20;

  vramsnap::codec::ChunkEncoder enc(3);
  std::vector<Codec> shuffle, planes_chunks;
  std::vector<Split> split;
  size_t size_shuffle = 0, size_planes = 0, size_split = 0;
  for (size_t off = 0; off < raw.size(); off += chunk) {
    const size_t n = std::min(chunk, raw.size() - off);
    for (auto [choice, list, total] : {std::tuple{vramsnap::CodecChoice::Shuffle, &shuffle, &size_shuffle},
                                       std::tuple{vramsnap::CodecChoice::Planes, &planes_chunks, &size_planes}}) {
      auto r = enc.encode({raw.data() + off, n}, choice, 2, true);
      if (!r.ok()) return 3;
      list->push_back({r->codec, r->elem_size, {r->stored.begin(), r->stored.end()}});
      *total += r->stored.size();
    }
    std::vector<uint16_t> x(n / 2);
    memcpy(x.data(), raw.data() + off, n);
    split.push_back(encode_split(x.data(), uint32_t(n / 2)));
    for (Bytes* p : {&split.back().low, &split.back().sign, &split.back().m9, &split.back().m8}) p->resize(p->size() + 8);
    size_split += split.back().stored() - 32;  // the slack is not stored
  }

  std::vector<uint8_t> out(chunk);
  vramsnap::codec::ChunkDecoder dec;
  Decoder d;
  auto pass_codec = [&](const std::vector<Codec>& list, bool check) {
    const double t0 = cpu_seconds();
    size_t off = 0;
    for (const auto& c : list) {
      const size_t n = std::min(chunk, raw.size() - off);
      if (!dec.decode(c.codec, c.elem, c.stored, {out.data(), n}).ok()) exit(4);
      if (check && memcmp(out.data(), raw.data() + off, n) != 0) exit(5);
      off += n;
    }
    return cpu_seconds() - t0;
  };
  auto pass_split = [&](bool check) {
    const double t0 = cpu_seconds();
    size_t off = 0;
    for (const auto& c : split) {
      if (!decode_split(c, d, reinterpret_cast<uint16_t*>(out.data()))) exit(6);
      if (check && memcmp(out.data(), raw.data() + off, size_t(c.m) * 2) != 0) exit(7);
      off += size_t(c.m) * 2;
    }
    return cpu_seconds() - t0;
  };
  pass_codec(shuffle, true);
  pass_codec(planes_chunks, true);
  pass_split(true);  // every value decodes exactly
  std::vector<double> ts, tp, tx;
  for (int r = 0; r < rounds; ++r)
    for (int i = 0; i < 3; ++i) {
      ts.push_back(pass_codec(shuffle, false));
      tp.push_back(pass_codec(planes_chunks, false));
      tx.push_back(pass_split(false));
    }
  const double gb = double(raw.size()) / 1e9;
  printf("%s: %zu bytes, %zu chunks of 4 MiB; %d x 3 interleaved passes, thread CPU time, median\n", argv[1],
         raw.size(), split.size(), rounds);
  printf("%-14s %12s %10s %10s %12s\n", "layout", "stored", "/ shuffle", "GB/s", "speed/shuf");
  const double ms = median(ts);
  for (auto [name, size, t] : {std::tuple{"shuffle+zstd", size_shuffle, ms}, std::tuple{"planes", size_planes, median(tp)},
                               std::tuple{"f16 split", size_split, median(tx)}})
    printf("%-14s %12zu %10.4f %10.3f %12.3f\n", name, size, double(size) / double(size_shuffle), gb / t, ms / t);
  return 0;
}
