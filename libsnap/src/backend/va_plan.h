#pragma once
// Fixed-VA address planning: which address ranges a restore reserves and
// maps with the VMM API so that every region lands at its recorded address.
// Driver allocations are granularity-aligned, regions are not: a region is
// placed inside the aligned union of the allocation it came from, and two
// regions that share a granule share one reservation instead of colliding.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::backend {

struct VaRegion {
  std::string name;                     // for messages
  uint64_t va = 0;                      // recorded address of the region
  uint64_t size = 0;
  std::optional<AllocationRange> alloc;  // enclosing allocation; absent in older files
  int device = 0;                       // target GPU (after the device map)
};

struct VaReservation {
  uint64_t base = 0;  // granularity-aligned
  uint64_t size = 0;  // a multiple of the granularity
  int device = 0;     // the GPU whose memory backs it
};

struct VaPlacement {
  size_t reservation = 0;  // index into VaPlan::reservations
  uint64_t offset = 0;     // of the region's first byte inside it
};

struct VaPlan {
  std::vector<VaReservation> reservations;  // ascending, disjoint; adjacent only across GPUs
  // Per input region; nullopt for a zero-size region (nothing to map).
  std::vector<std::optional<VaPlacement>> placements;
  uint64_t total_bytes = 0;
};

// Errors: Format for a region outside its recorded allocation or a range
// that overflows 2^64; Compat for a zero granularity or two GPUs' regions
// inside one reservation (one mapping has one backing device).
Result<VaPlan> plan_fixed_va(const std::vector<VaRegion>& regions, uint64_t granularity);

}  // namespace vramsnap::backend
