#include "format/features.h"

#include <fmt/format.h>

namespace vramsnap::format {

namespace {
constexpr Feature kFeatures[] = {
    {kFeatureBitLeafSha256, "leaf-sha256", 1},
    {kFeatureBitEd25519, "ed25519", 2},
    {kFeatureBitPackedRegions, "packed-regions", 3},
    {kFeatureBitPlanes, "planes", 4},
    {kFeatureBitPalette, "palette", 5},
    {kFeatureBitF16Split, "f16-split", 6},
};
}  // namespace

std::span<const Feature> known_features() { return kFeatures; }

std::string feature_names(uint64_t bits, std::span<const Feature> known) {
  std::string out;
  for (unsigned b = 0; b < 64; ++b) {
    if (!(bits >> b & 1)) continue;
    if (!out.empty()) out += ", ";
    const Feature* f = nullptr;
    for (const auto& k : known)
      if (k.bit == b) f = &k;
    out += f ? std::string(f->name) : fmt::format("bit {}", b);
  }
  return out;
}

Status check_required_features(uint64_t required, uint16_t minor, std::span<const Feature> known) {
  uint64_t known_bits = 0;
  for (const auto& f : known) known_bits |= uint64_t{1} << f.bit;
  if (const uint64_t unknown = required & ~known_bits)
    return Error(ErrorKind::Format, fmt::format("requires format features this vramsnap does not know (bits 0x{:x}); "
                                                "upgrade vramsnap", unknown));
  for (const auto& f : known)
    if ((required >> f.bit & 1) && minor < f.minor)
      return Error(ErrorKind::Format, fmt::format("header: feature {} (bit {}) is defined by format 1.{}, but the file "
                                                  "claims 1.{}", f.name, f.bit, f.minor, minor));
  return {};
}

uint16_t minor_for(uint64_t required, std::span<const Feature> known) {
  uint16_t m = 0;
  for (const auto& f : known)
    if ((required >> f.bit & 1) && f.minor > m) m = f.minor;
  return m;
}

}  // namespace vramsnap::format
