#pragma once
// Restore compatibility: the snapshot's source description (manifest
// `source`) against the GPU a region is about to land on, decided before
// anything is allocated. The rules (formats/snapshot-v1.md, section 7.9):
//   - host, other and device memory are plain bytes: portable, restore anywhere;
//   - module regions carry machine code: SASS (cubin) runs on the compute
//     capability's major with an equal or higher minor, PTX is JIT-compiled
//     for an equal or newer GPU, nothing runs on an older one;
//   - fixed-VA placement needs the VMM API on the target GPU.
// The driver has the last word (cuModuleLoadData, cuMemAddressReserve);
// these checks only refuse what can never work, with the reason.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::backend {

struct MajorMinor {
  int major = 0, minor = 0;
  friend bool operator==(const MajorMinor&, const MajorMinor&) = default;
  friend auto operator<=>(const MajorMinor&, const MajorMinor&) = default;
};

// "9.0", "12" (minor 0); nullopt for anything else, including "".
std::optional<MajorMinor> parse_major_minor(std::string_view s);

enum class ModuleImage { Unknown, Cubin, Ptx, Fatbin };
const char* to_string(ModuleImage image);

// From the first bytes: ELF magic (cubin), fatbin magic 0xba55ed50 (little
// endian), or text starting with a PTX directive or comment.
ModuleImage classify_module_image(const uint8_t* data, size_t size);

struct TargetDevice {
  int ordinal = 0;
  std::string name;
  MajorMinor compute_capability;
  MajorMinor driver;  // the CUDA version the driver supports (cudaDriverGetVersion)
  bool vmm = false;   // CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED
};

struct RegionCompat {
  bool portable = true;    // restores on any GPU (or none)
  bool compatible = true;  // restores on the target it was checked against
  std::string reason;      // why not portable / not compatible; "" otherwise
};

// Without a target: what `inspect` shows.
RegionCompat region_portability(const RegionMeta& r, const SourceInfo& source);

// Against the target the region goes to. `image` is known once a module's
// bytes are restored (Unknown before). Fixed-VA regions without a recorded
// address are the caller's usage error and pass here.
RegionCompat region_compat(const RegionMeta& r, const SourceInfo& source, const TargetDevice& target, bool fixed_va,
                           ModuleImage image = ModuleImage::Unknown);

// Every GPU-placed region against its target (`region_device` from
// resolve_devices; `devices` holds each ordinal used). Compat error (exit 6)
// listing the first few reasons.
Status check_restore_compat(const std::vector<RegionMeta>& regions, const SourceInfo& source,
                            const std::vector<int>& region_device, const std::vector<TargetDevice>& devices,
                            bool fixed_va);

}  // namespace vramsnap::backend
