// The host decoder of the f16 split layout (formats/snapshot-v1.md 6.4.1):
// every check but the per-block decode before the first write, the symbols
// through the planes decoder's Huffman steps into scratch, their per-block
// non-zero counts checked against the stored ones, then the values. The
// values take the portable split_values() or, where the CPU has AVX-512
// VBMI2 and BMI2, 32 at a time: an expand-load puts the next low bytes into
// the non-zero lanes and pdep spreads each bit plane's next bits over them.
#include <immintrin.h>

#include <cstring>
#include <string>

#include "codec/codec.h"
#include "codec/planes/decode.h"
#include "codec/planes/split.h"

namespace vramsnap::codec::planes {
namespace {

Error split_fault(Fault f, uint32_t block = ~0u) {
  std::string msg = std::string("planes chunk (f16 split): ") + fault_text(f);
  if (block != ~0u) msg += " (block " + std::to_string(block) + ")";
  return format_error(std::move(msg));
}

// n <= 32 bits of an LSB-first bit plane from bit `at`; the caller keeps
// at / 8 + 8 within the plane.
inline uint32_t take_bits(const uint8_t* plane, uint64_t at, unsigned n) {
  uint64_t w;
  std::memcpy(&w, plane + at / 8, 8);
  return uint32_t(w >> (at % 8)) & uint32_t((uint64_t(1) << n) - 1);
}

// Values of sym[0, n) into out (n * 2 bytes), 32 at a time while the bit
// planes have 8 bytes past the next bit, split_values() for the rest.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,bmi,bmi2"))) void split_values_avx512(
    const uint8_t* sym, uint32_t n, const uint8_t* low, const uint8_t* bits, uint32_t bits_size, uint8_t* out) {
  const uint8_t* sign = bits;
  const uint8_t* m9 = bits + bits_size;
  const uint8_t* m8 = bits + 2 * size_t(bits_size);
  const __m256i k32 = _mm256_set1_epi8(char(kSymPosZero)), k33 = _mm256_set1_epi8(char(kSymNegZero));
  uint64_t r = 0;
  uint32_t i = 0;
  for (; i + 32 <= n && r / 8 + 8 <= bits_size; i += 32) {
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sym + i));
    const __mmask32 nz = _mm256_cmplt_epu8_mask(s, k32);
    const __mmask32 neg0 = _mm256_cmpeq_epi8_mask(s, k33);
    const unsigned k = unsigned(__builtin_popcount(nz));
    const __m256i lo = _mm256_maskz_expandloadu_epi8(nz, low + r);  // reads only k bytes
    const uint32_t sg = _pdep_u32(take_bits(sign, r, k), nz);
    const uint32_t b9 = _pdep_u32(take_bits(m9, r, k), nz);
    const uint32_t b8 = _pdep_u32(take_bits(m8, r, k), nz);
    r += k;
    // High byte: sign << 7 | exponent << 2 | m9 << 1 | m8; each bit is added
    // where it is still clear, so the adds are ors.
    __m256i hi = _mm256_maskz_add_epi8(nz, s, s);
    hi = _mm256_add_epi8(hi, hi);
    hi = _mm256_mask_add_epi8(hi, sg | neg0, hi, _mm256_set1_epi8(char(0x80)));
    hi = _mm256_mask_add_epi8(hi, b9, hi, _mm256_set1_epi8(2));
    hi = _mm256_mask_add_epi8(hi, b8, hi, _mm256_set1_epi8(1));
    const __m512i v = _mm512_or_si512(_mm512_cvtepu8_epi16(lo), _mm512_slli_epi16(_mm512_cvtepu8_epi16(hi), 8));
    _mm512_storeu_si512(out + 2 * size_t(i), v);
  }
  split_values(sym + i, n - i, low, bits, bits_size, uint32_t(r), out + 2 * size_t(i));
}

// split_nonzero() 64 symbols a compare.
__attribute__((target("avx512f,avx512bw,popcnt"))) uint32_t split_nonzero_avx512(const uint8_t* sym, uint32_t n) {
  const __m512i k32 = _mm512_set1_epi8(char(kSymPosZero));
  uint32_t c = 0, i = 0;
  for (; i + 64 <= n; i += 64)
    c += uint32_t(__builtin_popcountll(_mm512_cmplt_epu8_mask(_mm512_loadu_si512(sym + i), k32)));
  return c + split_nonzero(sym + i, n - i);
}

}  // namespace

bool split_fast_path() {
  static const bool ok = __builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2");
  return ok;
}

void split_values_chunk(const uint8_t* sym, uint32_t m, const uint8_t* low, const uint8_t* bits, uint32_t bits_size,
                        uint8_t* out, bool fast) {
  if (fast && split_fast_path())
    split_values_avx512(sym, m, low, bits, bits_size, out);
  else
    split_values(sym, m, low, bits, bits_size, 0, out);
}

Status decode_split(Workspace& ws, unsigned e, std::span<const uint8_t> stored, std::span<uint8_t> dst) {
  SplitLayout lay{};
  const uint8_t* s = stored.data();
  if (Fault f = parse_split(s, stored.size(), dst.size(), e, &lay); f != Fault::None) return split_fault(f);
  const Plane& pl = lay.symbols;
  const uint32_t m = lay.elements, k = pl.blocks, z = lay.nonzero;
  for (uint32_t t = 0; t < pl.tables; ++t)
    if (Fault f = check_split_lengths(s + pl.offset + size_t(t) * kLengthsSize); f != Fault::None)
      return split_fault(f);
  uint32_t begin, end;
  for (uint32_t j = 0; j < k; ++j) {
    if (Fault f = block_extent(s + pl.ends_offset, j, k, pl.stream_size, &begin, &end); f != Fault::None)
      return split_fault(f, j);
    if (Fault f = split_counts(s + lay.counts_offset, j, k, m, z, &begin, &end); f != Fault::None)
      return split_fault(f, j);
  }
  if (Fault f = check_split_padding(s + lay.bits_offset, lay.bits_size, z); f != Fault::None) return split_fault(f);

  // Scratch: m symbols and the steps' slack, within the caller's bound.
  uint8_t* sym = ws.planes.reserve(size_t(m) + kPlaneSlack);
  if (!sym) return out_of_memory(size_t(m) + kPlaneSlack);
  VRAMSNAP_TRY(decode_huffman_plane(s, stored.size(), pl, m, sym, 0));
  const bool fast = split_fast_path();
  for (uint32_t j = 0; j < k; ++j) {  // S6: each block's symbols against its count
    split_counts(s + lay.counts_offset, j, k, m, z, &begin, &end);
    const uint32_t first = j * kBlockSymbols;
    const uint32_t n = m - first < kBlockSymbols ? m - first : kBlockSymbols;
    const uint32_t c = fast ? split_nonzero_avx512(sym + first, n) : split_nonzero(sym + first, n);
    if (c != end - begin) return split_fault(Fault::SplitCounts, j);
  }
  split_values_chunk(sym, m, s + lay.low_offset, s + lay.bits_offset, lay.bits_size, dst.data(), fast);
  if (lay.tail_size) std::memcpy(dst.data() + size_t(m) * 2, s + lay.tail_offset, lay.tail_size);
  return {};
}

}  // namespace vramsnap::codec::planes
