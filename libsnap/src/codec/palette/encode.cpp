// The palette encoder: per table group of 131 072 elements, the distinct
// element values (at most 256, else the chunk is declined), sorted into the
// group's value table; each element becomes the byte index of its value,
// and the index plane is written with the planes codec's Huffman blocks.
// A small open-addressing set finds the values, so a chunk of more than 256
// values per group is declined after a few hundred elements.
#include "codec/palette/encode.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "codec/codec.h"
#include "codec/palette/layout.h"
#include "codec/planes/encode.h"

namespace vramsnap::codec::palette {
namespace {

constexpr uint32_t kSlots = 1024;  // set size: at most 257 keys, so probes stay short
constexpr uint32_t kGroupElements = planes::kBlocksPerTable * planes::kBlockSymbols;

uint32_t slot_of(uint64_t key) { return uint32_t((key * 0x9E3779B97F4A7C15ull) >> 54); }  // 10 bits

// The distinct values of one group, and each value's index once sorted.
class ValueSet {
 public:
  // Adds key; false when that makes more than kMaxValues values.
  bool add(uint64_t key) {
    uint32_t s = slot_of(key);
    while (used_[s] && keys_[s] != key) s = (s + 1) & (kSlots - 1);
    if (used_[s]) return true;
    if (count_ == kMaxValues) return false;
    used_[s] = 1;
    keys_[s] = key;
    filled_[count_++] = s;
    return true;
  }
  // Sorts the values (into `sorted`) and gives each slot its index.
  uint32_t sort(std::array<uint64_t, kMaxValues>& sorted) {
    for (uint32_t i = 0; i < count_; ++i) sorted[i] = keys_[filled_[i]];
    std::sort(sorted.begin(), sorted.begin() + count_);
    for (uint32_t i = 0; i < count_; ++i) index_[find(sorted[i])] = uint8_t(i);
    return count_;
  }
  uint8_t index(uint64_t key) const { return index_[find(key)]; }
  void clear() {
    for (uint32_t i = 0; i < count_; ++i) used_[filled_[i]] = 0;
    count_ = 0;
  }

 private:
  uint32_t find(uint64_t key) const {
    uint32_t s = slot_of(key);
    while (keys_[s] != key || !used_[s]) s = (s + 1) & (kSlots - 1);
    return s;
  }
  std::array<uint64_t, kSlots> keys_{};
  std::array<uint8_t, kSlots> used_{};
  std::array<uint8_t, kSlots> index_{};
  std::array<uint32_t, kMaxValues> filled_{};
  uint32_t count_ = 0;
};

void put_u16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}

}  // namespace

Result<std::span<const uint8_t>> encode(Workspace& ws, std::span<const uint8_t> raw, unsigned e) {
  const size_t n = raw.size();
  const uint32_t m = uint32_t(n / e);
  if (m == 0) return std::span<const uint8_t>();
  const uint32_t k = planes::block_count(m);
  const uint32_t groups = planes::table_count(k);
  // Indices, then per group its table size and values (at most 256 x 8 bytes).
  const size_t table_bytes = size_t(groups) * kMaxValues * e;
  uint8_t* idx = ws.planes.reserve(m + size_t(groups) * 2 + table_bytes);
  if (!idx) return out_of_memory(m + table_bytes);
  uint8_t* counts = idx + m;
  uint8_t* values = counts + size_t(groups) * 2;
  size_t values_size = 0;

  auto set = std::make_unique<ValueSet>();
  std::array<uint64_t, kMaxValues> sorted;
  planes::PlaneCode code;
  code.lengths.reserve(groups);
  code.bound = uint64_t(kLengthsSize) * groups + 4ull * k + k;
  uint64_t bits = 0;
  for (uint32_t g = 0; g < groups; ++g) {
    const uint32_t first = g * kGroupElements;
    const uint32_t last = m - first < kGroupElements ? m : first + kGroupElements;
    set->clear();
    for (uint32_t i = first; i < last; ++i)
      if (!set->add(load_value(raw.data() + size_t(i) * e, e))) return std::span<const uint8_t>();  // declined
    uint32_t c = set->sort(sorted);
    if (c == 1) {
      // A complete code needs two table entries: a neighbouring value that
      // never occurs.
      const uint64_t v = sorted[0];
      const uint64_t top = e == 8 ? ~0ull : (1ull << (8 * e)) - 1;
      set->add(v < top ? v + 1 : v - 1);
      c = set->sort(sorted);
    }
    put_u16(counts + 2 * g, c);
    for (uint32_t j = 0; j < c; ++j)
      for (unsigned b = 0; b < e; ++b) values[values_size++] = uint8_t(sorted[j] >> (8 * b));
    planes::Histogram freq{};
    for (uint32_t i = first; i < last; ++i) ++freq[idx[i] = set->index(load_value(raw.data() + size_t(i) * e, e))];
    unsigned used = 0;
    for (uint32_t s = 0; s < c; ++s) used += freq[s] != 0;
    if (used == 1) freq[idx[first] ^ 1] = 1;  // the other of indices 0 and 1, both below c
    const planes::Lengths len = planes::huffman_lengths(freq);
    for (uint32_t s = 0; s < c; ++s) bits += freq[s] * len[s];
    code.lengths.push_back(len);
  }
  code.bound += bits / 8;

  const size_t tail = n - size_t(m) * e;
  const size_t head = kHeaderSize + size_t(groups) * 2 + values_size;
  const size_t cap = head + code.bound + tail;
  uint8_t* out = ws.palette_out.reserve(cap);
  if (!out) return out_of_memory(cap);
  out[0] = uint8_t(kBlockLog);
  out[1] = uint8_t(e);
  out[2] = out[3] = 0;
  for (int i = 0; i < 4; ++i) out[4 + i] = uint8_t(m >> (8 * i));
  std::memcpy(out + kHeaderSize, counts, size_t(groups) * 2);
  std::memcpy(out + kHeaderSize + size_t(groups) * 2, values, values_size);
  const size_t index_size = planes::write_huffman(idx, m, code, out + head);
  if (tail) std::memcpy(out + head + index_size, raw.data() + size_t(m) * e, tail);
  return std::span<const uint8_t>(out, head + index_size + tail);
}

}  // namespace vramsnap::codec::palette
