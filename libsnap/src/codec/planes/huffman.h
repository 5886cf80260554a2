#pragma once
// Code lengths for the planes encoder: a Huffman code over byte
// frequencies, limited to 11 bits, and the canonical codes the lengths
// define (formats/snapshot-v1.md 6.4). Host only.
#include <array>
#include <cstdint>

namespace vramsnap::codec::planes {

using Histogram = std::array<uint64_t, 256>;
using Lengths = std::array<uint8_t, 256>;

// Lengths (0 for absent symbols, else 1..11) of a complete code; needs at
// least two symbols with a non-zero count.
Lengths huffman_lengths(const Histogram& freq);

// The canonical code of every symbol with a non-zero length.
std::array<uint16_t, 256> canonical_codes(const Lengths& len);

}  // namespace vramsnap::codec::planes
