// The encoder of the f16 split layout (formats/snapshot-v1.md 6.4.1): the
// symbols of a chunk's values, their per-group codes (so the exact stored
// size is known before anything is written), then the chunk: header, the
// symbols as a Huffman plane, the per-block non-zero counts, the low
// mantissa bytes and the three bit planes.
#include "codec/planes/encode.h"
#include "codec/planes/split.h"

namespace vramsnap::codec::planes {
namespace {

void put_le(uint8_t* p, uint64_t v, unsigned bytes) {
  for (unsigned b = 0; b < bytes; ++b) p[b] = uint8_t(v >> (8 * b));
}

uint8_t symbol_of(uint16_t x) {
  if (x == 0) return kSymPosZero;
  if (x == 0x8000) return kSymNegZero;
  return uint8_t(x >> 10 & 31);
}

}  // namespace

size_t encode_split(const uint8_t* raw, size_t n, uint8_t* sym, uint8_t* out, size_t cap) {
  const uint32_t m = uint32_t(n / 2);
  if (m == 0) return 0;
  uint32_t z = 0;
  for (uint32_t i = 0; i < m; ++i) {
    sym[i] = symbol_of(uint16_t(raw[2 * i] | raw[2 * i + 1] << 8));
    z += sym[i] < kSymPosZero;
  }
  // Codes per group of kBlocksPerTable blocks, and the exact stream bytes.
  const uint32_t k = block_count(m);
  const uint32_t group = kBlocksPerTable * kBlockSymbols;
  PlaneCode pc;
  uint64_t stream = 0;
  for (uint32_t first = 0; first < m; first += group) {
    const uint32_t last = m - first < group ? m : first + group;
    const Lengths len = huffman_lengths(group_histogram(sym, first, last, kSplitSymbols));
    for (uint32_t b = first; b < last; b += kBlockSymbols) {
      const uint32_t end = last - b < kBlockSymbols ? last : b + kBlockSymbols;
      uint64_t bits = 0;
      for (uint32_t i = b; i < end; ++i) bits += len[sym[i]];
      stream += (bits + 7) / 8;
    }
    pc.lengths.push_back(len);
  }
  const uint64_t sym_size = uint64_t(kLengthsSize) * table_count(k) + 4ull * k + stream;
  pc.bound = sym_size;
  const uint64_t bits_size = (uint64_t(z) + 7) / 8;
  const uint64_t total = kSplitHeadSize + sym_size + 4ull * k + z + 3 * bits_size + (n - 2 * size_t(m));
  if (total > cap) return 0;

  out[0] = uint8_t(kBlockLog);
  out[1] = 2;
  out[2] = kLayoutSplit;
  out[3] = 0;
  put_u32(out + 4, m);
  put_u32(out + 8, uint32_t(sym_size));
  put_u32(out + 12, z);
  uint8_t* at = out + kSplitHeadSize;
  at += write_huffman(sym, m, pc, at);
  uint8_t* counts = at;
  uint8_t* low = counts + 4 * size_t(k);
  uint8_t* bits = low + z;
  // The three planes' next 64 bits, stored a word at a time (without
  // branches on the bits, which are close to random).
  uint64_t sign = 0, m9 = 0, m8 = 0;
  unsigned nb = 0;
  size_t word_at = 0;
  uint32_t r = 0;
  for (uint32_t j = 0; j < k; ++j) {
    const uint32_t first = j * kBlockSymbols;
    const uint32_t end = m - first < kBlockSymbols ? m : first + kBlockSymbols;
    for (uint32_t i = first; i < end; ++i) {
      if (sym[i] >= kSymPosZero) continue;
      const uint64_t hi = raw[2 * i + 1];
      low[r++] = raw[2 * i];
      sign |= (hi >> 7) << nb;
      m9 |= (hi >> 1 & 1) << nb;
      m8 |= (hi & 1) << nb;
      if (++nb == 64) {
        put_le(bits + word_at, sign, 8);
        put_le(bits + bits_size + word_at, m9, 8);
        put_le(bits + 2 * bits_size + word_at, m8, 8);
        word_at += 8;
        sign = m9 = m8 = 0;
        nb = 0;
      }
    }
    put_u32(counts + 4 * j, r);
  }
  if (nb) {  // ceil(z / 8) bytes in all
    put_le(bits + word_at, sign, (nb + 7) / 8);
    put_le(bits + bits_size + word_at, m9, (nb + 7) / 8);
    put_le(bits + 2 * bits_size + word_at, m8, (nb + 7) / 8);
  }
  uint8_t* tail = bits + 3 * bits_size;
  if (n & 1) *tail++ = raw[n - 1];
  return size_t(tail - out);
}

}  // namespace vramsnap::codec::planes
