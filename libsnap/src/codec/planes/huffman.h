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

// The counts of sym[first, last) (first < last, every symbol below
// `alphabet` <= 256), ready for huffman_lengths: where one symbol is all
// there is, the next one (mod alphabet) gets a count of 1, so the only
// symbol has a 1-bit code.
Histogram group_histogram(const uint8_t* sym, uint32_t first, uint32_t last, unsigned alphabet);

// The canonical code of every symbol with a non-zero length.
std::array<uint16_t, 256> canonical_codes(const Lengths& len);

}  // namespace vramsnap::codec::planes
