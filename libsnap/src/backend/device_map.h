#pragma once
// Device maps: which GPU of this machine receives the regions captured on
// each recorded device ordinal. Parsing and resolution are pure so that
// every mapping mistake is caught, and tested, before anything is allocated.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::backend {

inline constexpr int kMaxDeviceOrdinal = 1023;  // the manifest's `device` range

struct DeviceMap {
  std::map<int, int> pairs;  // recorded ordinal -> target GPU
  bool empty() const { return pairs.empty(); }
};

// "SRC:DST[,SRC:DST...]": decimal integers 0..1023 without sign, spaces or
// empty entries. A SRC may appear once; several SRC may share one DST (a
// tensor-parallel snapshot gathered onto fewer GPUs). Usage error otherwise.
Result<DeviceMap> parse_device_map(std::string_view text);

// "0:0,3:1" (the canonical spelling, for messages and JSON output).
std::string to_string(const DeviceMap& map);

// True for regions a cuda restore puts on a GPU (device memory and modules);
// host and other regions stay in host memory.
bool placed_on_gpu(const RegionMeta& r);

struct DeviceAssignment {
  std::vector<int> region_device;  // per region: target GPU, or -1 (host memory)
  std::vector<int> devices;        // the distinct target GPUs, ascending
};

// Resolves each region's recorded ordinal. Without a map: identity; with a
// map, every recorded ordinal must be in it. Regions recorded with device -1
// go to `default_device`. Every target must be below `gpu_count`. Compat
// error naming the region and the ordinal otherwise.
Result<DeviceAssignment> resolve_devices(const std::vector<RegionMeta>& regions, const DeviceMap& map,
                                         int default_device, int gpu_count);

// A map sending every recorded ordinal of `regions` to one GPU: what
// `--target cuda:N` without a map means for a single-GPU restore.
DeviceMap collapse_to(const std::vector<RegionMeta>& regions, int target);

}  // namespace vramsnap::backend
