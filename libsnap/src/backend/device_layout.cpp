#include "backend/device_layout.h"

#include <fmt/format.h>

#include "core/checked_math.h"

namespace vramsnap::backend {

Result<DeviceLayout> plan_device_layout(const std::vector<RegionMeta>& regions, const std::vector<size_t>& selected,
                                        const std::vector<int>& region_device, bool fixed_va, uint64_t granularity) {
  DeviceLayout out;
  out.regions.assign(regions.size(), {});
  std::vector<VaRegion> va_in;
  for (size_t r : selected) {
    if (r >= regions.size() || r >= region_device.size())
      return Error(ErrorKind::Usage, fmt::format("region index {} out of range", r));
    const RegionMeta& m = regions[r];
    RegionPlacement& p = out.regions[r];
    p.device = region_device[r];
    if (m.kind != RegionKind::Device) {
      p.how = Placement::Host;
      continue;
    }
    if (p.device < 0)
      return Error(ErrorKind::Usage, fmt::format("device region \"{}\" has no target GPU", m.name));
    if (fixed_va && m.size) {
      if (!m.va)
        return Error(ErrorKind::Usage, fmt::format("region \"{}\" has no recorded address, so it cannot be placed at "
                                                   "a fixed address", m.name));
      p.how = Placement::FixedVa;
      va_in.push_back({m.name, *m.va, m.size, m.alloc, p.device});
      out.va_regions.push_back(r);
    } else if ((m.flags & kFlagReadMostly) && m.size) {
      p.how = Placement::Managed;
    } else {
      p.how = Placement::Arena;
      uint64_t& used = out.arena_bytes[p.device];
      const auto at = core::checked_align_up(used, kArenaAlign);
      const auto end = at ? core::checked_add(*at, m.size) : std::nullopt;
      if (!end) return Error(ErrorKind::Limit, fmt::format("region \"{}\": device regions overflow 2^64 bytes", m.name));
      p.offset = *at;
      used = *end;
    }
  }
  for (auto it = out.arena_bytes.begin(); it != out.arena_bytes.end();)
    it = it->second == 0 ? out.arena_bytes.erase(it) : std::next(it);
  if (!va_in.empty()) {
    VRAMSNAP_ASSIGN_OR_RETURN(VaPlan plan, plan_fixed_va(va_in, granularity));
    out.va = std::move(plan);
  }
  return out;
}

}  // namespace vramsnap::backend
