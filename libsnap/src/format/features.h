#pragma once
// Required feature bits: the format's rule of growth (formats/snapshot-v1.md
// section 14.2). Each bit is one table entry: its name and the minor version
// that defined it. A reader refuses a file with a bit it does not know, or
// with a known bit under a minor older than the one that defined it; a writer
// sets exactly the bits the file uses and the minor they call for.
#include <cstdint>
#include <span>
#include <string>

#include "vramsnap/error.hpp"

namespace vramsnap::format {

// Bit numbers (section 14.2's table).
inline constexpr unsigned kFeatureBitLeafSha256 = 0;  // 1.1: chunk hashes over 16 KiB leaves (section 5.4)
inline constexpr uint64_t kFeatureLeafSha256 = uint64_t{1} << kFeatureBitLeafSha256;
inline constexpr unsigned kFeatureBitEd25519 = 1;  // 1.2: Ed25519 seal, algorithm 2 (section 9.4)
inline constexpr uint64_t kFeatureEd25519 = uint64_t{1} << kFeatureBitEd25519;
inline constexpr unsigned kFeatureBitPackedRegions = 2;  // 1.3: several small regions in one chunk (section 5.5)
inline constexpr uint64_t kFeaturePackedRegions = uint64_t{1} << kFeatureBitPackedRegions;
inline constexpr unsigned kFeatureBitPlanes = 3;  // 1.4: codec 4, planes (section 6.4)
inline constexpr uint64_t kFeaturePlanes = uint64_t{1} << kFeatureBitPlanes;
inline constexpr unsigned kFeatureBitPalette = 4;  // 1.5: codec 5, palette (section 6.5)
inline constexpr uint64_t kFeaturePalette = uint64_t{1} << kFeatureBitPalette;
inline constexpr unsigned kFeatureBitF16Split = 5;  // 1.6: planes chunks in the f16 split layout (section 6.4.1)
inline constexpr uint64_t kFeatureF16Split = uint64_t{1} << kFeatureBitF16Split;

struct Feature {
  unsigned bit;       // 0..63
  const char* name;   // "leaf-hash", ...
  uint16_t minor;     // the minor revision that defined it
};

// The features this reader and writer implement.
std::span<const Feature> known_features();

// Checks a header's required bits and minor against `known`. Format error
// naming unknown bits ("needs a newer vramsnap"), or a known bit whose file
// minor is older than the bit's.
Status check_required_features(uint64_t required, uint16_t minor, std::span<const Feature> known);

// The minor a writer records for a file that sets `required` (0 for none).
uint16_t minor_for(uint64_t required, std::span<const Feature> known);

// "leaf-hash, planes" for the known bits set in `bits`, "bit 5" for others.
std::string feature_names(uint64_t bits, std::span<const Feature> known);

}  // namespace vramsnap::format
