// The host decoder of the f16 split layout (formats/snapshot-v1.md 6.4.1):
// every check but the per-block ones before the first write, then the
// symbols four blocks at a time with the quad steps of split_steps.h into
// scratch, then the values block by block, each block's non-zero count
// checked (S6) as its values are written. Where the CPU has AVX-512 (VBMI,
// VBMI2) and BMI2 the values go 64 at a time: an expand puts the next low
// bytes into the non-zero lanes and pdep spreads each bit plane's next bits
// over the same lanes. Elsewhere both passes are portable C++.
//
// The values are not written between the symbol steps of the next blocks:
// the steps are bound by the core's throughput, and the values' scalar half
// (bit extraction, pdep) would compete with them.
#include <immintrin.h>

#include <cstring>
#include <string>

#include "codec/codec.h"
#include "codec/planes/decode.h"
#include "codec/planes/split.h"
#include "codec/planes/split_steps.h"

namespace vramsnap::codec::planes {
namespace {

Error split_fault(Fault f, uint32_t block = ~0u) {
  std::string msg = std::string("planes chunk (f16 split): ") + fault_text(f);
  if (block != ~0u) msg += " (block " + std::to_string(block) + ")";
  return format_error(std::move(msg));
}

// The symbols' blocks, four of one table group at a time; tables and block
// ends already checked. The exact steps finish each block and check it.
template <bool kAvx512>
PLANES_HOT inline Fault symbols(const uint8_t* s, uint64_t stored_size, const Plane& pl, uint32_t m, uint8_t* out,
                                QuadTable& t, uint32_t* block) {
  const uint8_t* area = s + pl.stream_offset;
  const uint64_t limit = stored_size - pl.stream_offset;
  const uint8_t* ends = s + pl.ends_offset;
  const uint32_t k = pl.blocks;
  for (uint32_t j0 = 0; j0 < k; j0 += 4) {
    *block = j0;
    if (j0 % kBlocksPerTable == 0) {
      if (Fault f = build_table(s + pl.offset + size_t(j0 / kBlocksPerTable) * kLengthsSize, t.table);
          f != Fault::None)
        return f;
      t.table[kTableSize] = t.table[kTableSize + 1] = 0;  // read by the gathers, never used
      if (kAvx512)
        build_quad_table_avx512(t);
      else
        build_quad_table(t);
    }
    const unsigned lanes = k - j0 < 4 ? k - j0 : 4;
    BlockStream b[4];
    uint8_t* stop[4];
    for (unsigned l = 0; l < lanes; ++l) {
      const uint32_t j = j0 + l, first = j * kBlockSymbols;
      b[l] = {uint64_t(j ? load_u32(ends + 4 * (j - 1)) : 0) * 8, out + first,
              m - first < kBlockSymbols ? m - first : kBlockSymbols};
      stop[l] = b[l].out + b[l].left;
    }
    if (lanes == 4) quad_steps(t, area, limit, b, stop);
    for (unsigned l = 0; l < lanes; ++l) {
      BlockStream x = b[l];  // a local: the byte stores cannot alias it
      while (x.left) decode_step(t.table, area, limit, 1, x);
      *block = j0 + l;
      if (Fault f = finish_block(area, load_u32(ends + 4 * (j0 + l)), x.pos); f != Fault::None) return f;
    }
  }
  return Fault::None;
}

__attribute__((target("bmi,bmi2,avx512f"))) Fault symbols_fast(const uint8_t* s, uint64_t stored_size,
                                                                const Plane& pl, uint32_t m, uint8_t* out,
                                                                QuadTable& t, uint32_t* block) {
  return symbols<true>(s, stored_size, pl, m, out, t, block);
}

Fault symbols_portable(const uint8_t* s, uint64_t stored_size, const Plane& pl, uint32_t m, uint8_t* out,
                       QuadTable& t, uint32_t* block) {
  return symbols<false>(s, stored_size, pl, m, out, t, block);
}

// 64 bits of an LSB-first bit plane from bit `at` (pdep takes as many as it
// needs); the caller keeps at / 8 + 16 within the plane. b << 1 << (63 - sh)
// is b << (64 - sh) without the undefined shift by 64.
inline uint64_t take_bits(const uint8_t* plane, uint64_t at) {
  uint64_t a, b;
  std::memcpy(&a, plane + at / 8, 8);
  std::memcpy(&b, plane + at / 8 + 8, 8);
  const unsigned sh = at % 8;
  return a >> sh | b << 1 << (63 - sh);
}

// Values of sym[i, end) into out, 64 at a time while the bit planes have 16
// bytes past bit r (so the low bytes have 64 past byte r too, whatever the
// symbols say: every read stays in the planes); returns where it stopped,
// r the next value's non-zero number.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC bug 105593, as in steps.h
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi,bmi2,popcnt"))) uint32_t values_avx512(
    const uint8_t* sym, uint32_t i, uint32_t end, const uint8_t* low, const uint8_t* bits, uint32_t bits_size,
    uint64_t& r, uint8_t* out) {
  const uint8_t* m9 = bits + bits_size;
  const uint8_t* m8 = bits + 2 * size_t(bits_size);
  const __m512i k32 = _mm512_set1_epi8(char(kSymPosZero)), k33 = _mm512_set1_epi8(char(kSymNegZero));
  const __m512i x80 = _mm512_set1_epi8(char(0x80)), x02 = _mm512_set1_epi8(2), x01 = _mm512_set1_epi8(1);
  // Output byte 2v takes lo[v], byte 2v + 1 hi[v] (index 64 + v).
  const __m512i first = _mm512_set_epi64(0x5f1f5e1e5d1d5c1c, 0x5b1b5a1a59195818, 0x5717561655155414,
                                         0x5313521251115010, 0x4f0f4e0e4d0d4c0c, 0x4b0b4a0a49094808,
                                         0x4707460645054404, 0x4303420241014000);
  const __m512i second = _mm512_add_epi8(first, _mm512_set1_epi8(32));
  uint64_t at = r;
  for (; i + 64 <= end && at / 8 + 16 <= bits_size; i += 64) {
    const __m512i s = _mm512_loadu_si512(sym + i);
    const __mmask64 nz = _mm512_cmplt_epu8_mask(s, k32);
    const __mmask64 neg0 = _mm512_cmpeq_epi8_mask(s, k33);
    const unsigned k = unsigned(__builtin_popcountll(nz));
    const __m512i lo = _mm512_maskz_expand_epi8(nz, _mm512_loadu_si512(low + at));
    const uint64_t sg = _pdep_u64(take_bits(bits, at), nz) | neg0;
    const uint64_t b9 = _pdep_u64(take_bits(m9, at), nz);
    const uint64_t b8 = _pdep_u64(take_bits(m8, at), nz);
    at += k;
    // High byte: sign << 7 | exponent << 2 | m9 << 1 | m8; each bit is added
    // where it is still clear, so the adds are ors.
    __m512i hi = _mm512_maskz_add_epi8(nz, s, s);
    hi = _mm512_add_epi8(hi, hi);
    hi = _mm512_mask_add_epi8(hi, sg, hi, x80);
    hi = _mm512_mask_add_epi8(hi, b9, hi, x02);
    hi = _mm512_mask_add_epi8(hi, b8, hi, x01);
    _mm512_storeu_si512(out + 2 * size_t(i), _mm512_permutex2var_epi8(lo, first, hi));
    _mm512_storeu_si512(out + 2 * size_t(i) + 64, _mm512_permutex2var_epi8(lo, second, hi));
  }
  r = at;
  return i;
}
#pragma GCC diagnostic pop

}  // namespace

bool split_fast_path() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
                         __builtin_cpu_supports("bmi2");
  return ok;
}

Fault split_symbols(const uint8_t* s, uint64_t stored_size, const Plane& pl, uint32_t m, uint8_t* out, bool fast,
                    uint32_t* block) {
  QuadTable t;  // 16 KiB, rebuilt per table group
  return fast && split_fast_path() ? symbols_fast(s, stored_size, pl, m, out, t, block)
                                   : symbols_portable(s, stored_size, pl, m, out, t, block);
}

Fault split_values_checked(const uint8_t* sym, const SplitLayout& lay, const uint8_t* s, uint8_t* out, bool fast,
                           uint32_t* block) {
  fast = fast && split_fast_path();
  const uint32_t m = lay.elements, k = lay.symbols.blocks;
  const uint8_t* counts = s + lay.counts_offset;
  const uint8_t* low = s + lay.low_offset;
  const uint8_t* bits = s + lay.bits_offset;
  uint64_t r = 0;  // non-zero values taken so far: nz_(j-1) at the start of block j
  for (uint32_t j = 0; j < k; ++j) {
    *block = j;
    const uint32_t first = j * kBlockSymbols, n = m - first < kBlockSymbols ? m - first : kBlockSymbols;
    const uint32_t nz = load_u32(counts + 4 * j);  // S5 checked: r <= nz <= z
    uint32_t i = first;
    if (fast) {
      i = values_avx512(sym, i, first + n, low, bits, lay.bits_size, r, out);
      if (i == first + n) {
        if (r != nz) return Fault::SplitCounts;
        continue;
      }
    }
    // The rest of the block: its count first, then every index is below nz.
    if (split_nonzero(sym + first, n) != nz - (j ? load_u32(counts + 4 * (j - 1)) : 0)) return Fault::SplitCounts;
    split_values(sym + i, first + n - i, low, bits, lay.bits_size, uint32_t(r), out + 2 * size_t(i));
    r = nz;
  }
  return Fault::None;
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
  uint32_t block = 0;
  if (Fault f = split_symbols(s, stored.size(), pl, m, sym, true, &block); f != Fault::None)
    return split_fault(f, block);
  if (Fault f = split_values_checked(sym, lay, s, dst.data(), true, &block); f != Fault::None)
    return split_fault(f, block);
  if (lay.tail_size) std::memcpy(dst.data() + size_t(m) * 2, s + lay.tail_offset, lay.tail_size);
  return {};
}

}  // namespace vramsnap::codec::planes
