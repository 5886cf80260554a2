#include "backend/va_plan.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "core/checked_math.h"

namespace vramsnap::backend {
namespace {

struct Span {
  uint64_t lo, hi;  // [lo, hi), aligned
  size_t region;
};

}  // namespace

Result<VaPlan> plan_fixed_va(const std::vector<VaRegion>& regions, uint64_t granularity) {
  if (granularity == 0) return Error(ErrorKind::Compat, "fixed-VA restore: the driver reported a VMM granularity of 0");
  VaPlan plan;
  plan.placements.assign(regions.size(), std::nullopt);
  std::vector<Span> spans;
  spans.reserve(regions.size());
  for (size_t i = 0; i < regions.size(); ++i) {
    const VaRegion& r = regions[i];
    if (r.size == 0) continue;
    auto end = core::checked_add(r.va, r.size);
    if (!end)
      return Error(ErrorKind::Format, fmt::format("region \"{}\": va {:#x} + size {} overflows the address space", r.name,
                                                  r.va, r.size));
    uint64_t lo = r.va, hi = *end;
    if (r.alloc) {
      auto alloc_end = core::checked_add(r.alloc->base, r.alloc->size);
      if (!alloc_end)
        return Error(ErrorKind::Format, fmt::format("region \"{}\": allocation {:#x} + {} overflows the address space",
                                                    r.name, r.alloc->base, r.alloc->size));
      if (r.va < r.alloc->base || *end > *alloc_end)
        return Error(ErrorKind::Format,
                     fmt::format("region \"{}\": [{:#x}, {:#x}) is not inside its allocation [{:#x}, {:#x})", r.name,
                                 r.va, *end, r.alloc->base, *alloc_end));
      lo = r.alloc->base;
      hi = *alloc_end;
    }
    // Outwards to the granularity (need not be a power of two here).
    lo -= lo % granularity;
    if (hi % granularity != 0) {
      auto up = core::checked_add(hi, granularity - hi % granularity);
      if (!up)
        return Error(ErrorKind::Format, fmt::format("region \"{}\": the aligned range above {:#x} overflows the "
                                                    "address space", r.name, hi));
      hi = *up;
    }
    spans.push_back({lo, hi, i});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.lo < b.lo; });
  for (const Span& s : spans) {
    const VaRegion& r = regions[s.region];
    bool joins = !plan.reservations.empty() &&
                 s.lo <= plan.reservations.back().base + plan.reservations.back().size;  // overlapping or adjacent
    if (joins) {
      VaReservation& res = plan.reservations.back();
      if (res.device != r.device) {
        // Adjacent ranges of two GPUs stay separate; overlapping ones cannot.
        if (s.lo == res.base + res.size) joins = false;
        else
          return Error(ErrorKind::Compat,
                       fmt::format("fixed-VA restore: region \"{}\" (GPU {}) shares the address range [{:#x}, {:#x}) "
                                   "with regions on GPU {}; one mapping has one backing GPU",
                                   r.name, r.device, s.lo, s.hi, res.device));
      } else {
        res.size = std::max(res.base + res.size, s.hi) - res.base;
      }
    }
    if (!joins) plan.reservations.push_back({s.lo, s.hi - s.lo, r.device});
    plan.placements[s.region] = VaPlacement{plan.reservations.size() - 1, 0};
  }
  for (size_t i = 0; i < regions.size(); ++i)
    if (plan.placements[i])
      plan.placements[i]->offset = regions[i].va - plan.reservations[plan.placements[i]->reservation].base;
  plan.total_bytes = std::accumulate(plan.reservations.begin(), plan.reservations.end(), uint64_t{0},
                                     [](uint64_t a, const VaReservation& r) { return a + r.size; });
  return plan;
}

}  // namespace vramsnap::backend
