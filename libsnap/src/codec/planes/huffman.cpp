// Length-limited Huffman code lengths for the planes encoder. A plain
// Huffman tree over at most 256 symbols; when its deepest code is longer
// than 11 bits the counts are halved (rounding up, so no symbol vanishes) and
// the tree is rebuilt. The rare skewed plane that needs this loses a little
// ratio; byte planes of weights rarely go beyond 11 bits at all. The
// per-group histograms live here too: byte planes and the f16 split
// layout's symbols are counted, and a lone symbol paired, the same way.
#include "codec/planes/huffman.h"

#include <algorithm>
#include <queue>
#include <vector>

#include "codec/planes/layout.h"

namespace vramsnap::codec::planes {
namespace {

Lengths tree_lengths(const Histogram& freq) {
  // Nodes 0..255 are leaves; internal nodes follow. Ties break on node
  // index, so the lengths are a function of the counts alone.
  struct Item {
    uint64_t weight;
    unsigned node;
    bool operator>(const Item& o) const { return weight != o.weight ? weight > o.weight : node > o.node; }
  };
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> q;
  std::array<int, 512> parent;
  parent.fill(-1);
  for (unsigned s = 0; s < 256; ++s)
    if (freq[s]) q.push({freq[s], s});
  unsigned next = 256;
  while (q.size() > 1) {
    const Item a = q.top();
    q.pop();
    const Item b = q.top();
    q.pop();
    parent[a.node] = int(next);
    parent[b.node] = int(next);
    q.push({a.weight + b.weight, next++});
  }
  Lengths len{};
  for (unsigned s = 0; s < 256; ++s) {
    if (!freq[s]) continue;
    unsigned depth = 0;
    for (int n = parent[s]; n >= 0; n = parent[unsigned(n)]) ++depth;
    len[s] = uint8_t(std::min(depth, 255u));
  }
  return len;
}

}  // namespace

Lengths huffman_lengths(const Histogram& freq) {
  Histogram f = freq;
  for (;;) {
    Lengths len = tree_lengths(f);
    if (*std::max_element(len.begin(), len.end()) <= kMaxCodeLen) return len;
    for (auto& c : f)
      if (c) c = (c + 1) / 2;
  }
}

Histogram group_histogram(const uint8_t* sym, uint32_t first, uint32_t last, unsigned alphabet) {
  Histogram freq{};
  for (uint32_t i = first; i < last; ++i) ++freq[sym[i]];
  unsigned used = 0;
  for (uint64_t c : freq) used += c != 0;
  if (used == 1) freq[(sym[first] + 1) % alphabet] = 1;
  return freq;
}

std::array<uint16_t, 256> canonical_codes(const Lengths& len) {
  std::array<uint16_t, 256> code{};
  uint32_t next = 0;
  unsigned prev_len = 0;
  for (unsigned l = 1; l <= kMaxCodeLen; ++l) {
    for (unsigned s = 0; s < 256; ++s) {
      if (len[s] != l) continue;
      next <<= (l - prev_len);
      prev_len = l;
      code[s] = uint16_t(next++);
    }
  }
  return code;
}

}  // namespace vramsnap::codec::planes
