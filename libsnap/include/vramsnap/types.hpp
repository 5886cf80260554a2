#pragma once
// Value types shared by the public API: region metadata and snapshot metadata,
// and the format's rules for a region's metadata (one set, used by capture,
// by every input parser and by the manifest reader).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"

namespace vramsnap {

enum class RegionKind { Device, Host, Module, Other };
VRAMSNAP_API const char* to_string(RegionKind kind) noexcept;
VRAMSNAP_API std::optional<RegionKind> parse_region_kind(const std::string& s) noexcept;

// Region flags (manifest "flags" array).
inline constexpr uint32_t kFlagReadMostly = 1u << 0;  // "read_mostly": cudaMemAdvise(SetReadMostly)
inline constexpr uint32_t kFlagWarm = 1u << 1;        // "warm": module functions loaded eagerly

// Element size of a dtype name ("bf16" -> 2); 0 for an unknown or sub-byte dtype.
VRAMSNAP_API unsigned dtype_size(const std::string& dtype) noexcept;
// True for names of 1..32 chars of [a-z0-9_] (known or not).
VRAMSNAP_API bool dtype_name_valid(const std::string& dtype) noexcept;

// A device allocation as the driver reported it (cuMemGetAddressRange).
struct AllocationRange {
  uint64_t base = 0;
  uint64_t size = 0;
};

struct RegionMeta {
  std::string name;
  RegionKind kind = RegionKind::Host;
  uint64_t size = 0;                    // raw bytes
  std::string dtype;                    // "" when unknown
  std::vector<uint64_t> shape;          // empty when unknown
  int32_t device = -1;                  // device ordinal; -1 for none
  std::optional<uint64_t> va;           // original virtual address
  // The device allocation enclosing [va, va+size) at capture; needed to map
  // fixed-VA regions at granularity-aligned addresses. Unknown when absent.
  std::optional<AllocationRange> alloc;
  uint32_t flags = 0;
  std::map<std::string, std::string> labels;
};

// The format's rules for one region (formats/snapshot-v1.md, the manifest):
// name (1..255 bytes of UTF-8, no control characters or backslashes, '/'
// separated segments that are neither empty nor "." or ".."), size cap, dtype
// name, shape rank, shape x dtype size equal to the size (for dtypes of known
// size), labels. Usage error for what is wrong, Limit for a cap exceeded; the
// message names the region. When `field` is given it receives the field at
// fault ("name", "size", "dtype", "shape", "labels") so that a caller can
// point at it in its own input.
VRAMSNAP_API Status validate_region(const RegionMeta& meta, std::string* field = nullptr);

struct SourceInfo {  // where a snapshot was captured; all optional
  std::string gpu_name;
  std::string compute_capability;  // "9.0"
  std::string driver_version;      // "13.0"
  std::string cuda_runtime;        // "13.0"
  std::string host;
};

}  // namespace vramsnap
