#include "backend/device_map.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "vramsnap/restore.hpp"

namespace vramsnap::backend {
namespace {

Error usage(std::string_view text, const std::string& why) {
  return Error(ErrorKind::Usage, fmt::format("--device-map \"{}\": {} (expected SRC:DST[,SRC:DST...], "
                                             "GPU ordinals 0..{})",
                                             text.substr(0, 200), why, kMaxDeviceOrdinal));
}

// A decimal ordinal, all of `s`; from_chars on unsigned refuses signs.
std::optional<int> parse_ordinal(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > kMaxDeviceOrdinal) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

Result<DeviceMap> parse_device_map(std::string_view text) {
  if (text.empty()) return usage(text, "empty");
  DeviceMap m;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view entry = text.substr(pos, comma - pos);
    if (entry.empty()) return usage(text, "empty entry");
    size_t colon = entry.find(':');
    if (colon == std::string_view::npos) return usage(text, fmt::format("\"{}\" has no ':'", entry));
    auto src = parse_ordinal(entry.substr(0, colon));
    auto dst = parse_ordinal(entry.substr(colon + 1));
    if (!src || !dst) return usage(text, fmt::format("\"{}\" is not two ordinals 0..{}", entry, kMaxDeviceOrdinal));
    if (!m.pairs.emplace(*src, *dst).second) return usage(text, fmt::format("GPU {} is mapped twice", *src));
    pos = comma + 1;
  }
  return m;
}

std::string to_string(const DeviceMap& map) {
  std::string out;
  for (const auto& [src, dst] : map.pairs) out += fmt::format("{}{}:{}", out.empty() ? "" : ",", src, dst);
  return out;
}

bool placed_on_gpu(const RegionMeta& r) { return r.kind == RegionKind::Device || r.kind == RegionKind::Module; }

Result<DeviceAssignment> resolve_devices(const std::vector<RegionMeta>& regions, const DeviceMap& map,
                                         int default_device, int gpu_count) {
  DeviceAssignment out;
  out.region_device.assign(regions.size(), -1);
  auto missing = [&](const RegionMeta& r, int target, const std::string& how) {
    return Error(ErrorKind::Compat,
                 gpu_count <= 0
                     ? fmt::format("region \"{}\" {} GPU {}, but this machine has no CUDA GPU", r.name, how, target)
                     : fmt::format("region \"{}\" {} GPU {}, but this machine has {} GPU{} (0..{})", r.name, how,
                                   target, gpu_count, gpu_count == 1 ? "" : "s", gpu_count - 1));
  };
  for (size_t i = 0; i < regions.size(); ++i) {
    const RegionMeta& r = regions[i];
    if (!placed_on_gpu(r)) continue;
    int target;
    std::string how;
    if (r.device < 0) {
      target = default_device;
      how = "has no recorded device and goes to the default";
    } else if (map.empty()) {
      target = r.device;
      how = fmt::format("was captured on GPU {} and, with no --device-map, goes to", r.device);
    } else {
      auto it = map.pairs.find(r.device);
      if (it == map.pairs.end())
        return Error(ErrorKind::Compat, fmt::format("region \"{}\" was captured on GPU {}, which --device-map {} does "
                                                    "not map; add {}:DST",
                                                    r.name, r.device, to_string(map), r.device));
      target = it->second;
      how = fmt::format("was captured on GPU {}; --device-map sends it to", r.device);
    }
    if (target < 0 || target >= gpu_count) {
      Error e = missing(r, target, how);
      if (r.device >= 0 && map.empty()) return Error(e.kind(), e.message() + fmt::format("; restore it onto another GPU with --device-map {}:DST", r.device));
      return e;
    }
    out.region_device[i] = target;
    out.devices.push_back(target);
  }
  std::sort(out.devices.begin(), out.devices.end());
  out.devices.erase(std::unique(out.devices.begin(), out.devices.end()), out.devices.end());
  return out;
}

DeviceMap collapse_to(const std::vector<RegionMeta>& regions, int target) {
  DeviceMap m;
  for (const auto& r : regions)
    if (placed_on_gpu(r) && r.device >= 0) m.pairs.emplace(r.device, target);
  return m;
}

}  // namespace vramsnap::backend

namespace vramsnap {

Result<std::map<int, int>> parse_device_map_spec(std::string_view text) {
  VRAMSNAP_ASSIGN_OR_RETURN(backend::DeviceMap m, backend::parse_device_map(text));
  return std::move(m.pairs);
}

}  // namespace vramsnap
