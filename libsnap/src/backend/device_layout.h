#pragma once
// Where each selected region of a cuda restore lives, decided before anything
// is allocated: device regions in one arena per target GPU (aligned offsets),
// in managed memory (read-mostly), or at their recorded addresses inside the
// granularity-aligned reservations of va_plan (fixed VA); modules and host
// regions in host memory. Pure, so every layout is tested without a GPU.
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "backend/va_plan.h"
#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::backend {

inline constexpr uint64_t kArenaAlign = 256;  // cudaMalloc's own alignment

enum class Placement { Unselected, Host, Arena, Managed, FixedVa };

struct RegionPlacement {
  Placement how = Placement::Unselected;
  int device = -1;      // target GPU (Arena, Managed, FixedVa; modules too)
  uint64_t offset = 0;  // Arena: inside the device's arena
};

struct DeviceLayout {
  std::vector<RegionPlacement> regions;  // per region of the snapshot
  std::map<int, uint64_t> arena_bytes;   // per target GPU with an arena
  std::optional<VaPlan> va;              // fixed VA: the reservations to map
  std::vector<size_t> va_regions;        // snapshot region of each VaPlan placement
};

// `region_device`: per snapshot region, its target GPU or -1 (resolve_devices
// over all regions). `granularity` is only used with fixed_va. Usage error for
// a fixed-VA device region without a recorded address; va_plan's errors
// otherwise. Zero-size device regions get an Arena placement of no bytes.
Result<DeviceLayout> plan_device_layout(const std::vector<RegionMeta>& regions, const std::vector<size_t>& selected,
                                        const std::vector<int>& region_device, bool fixed_va, uint64_t granularity);

}  // namespace vramsnap::backend
