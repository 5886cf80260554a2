#include "vramsnap/types.hpp"

#include <string_view>

namespace vramsnap {

const char* to_string(RegionKind kind) noexcept {
  switch (kind) {
    case RegionKind::Device: return "device";
    case RegionKind::Host: return "host";
    case RegionKind::Module: return "module";
    case RegionKind::Other: return "other";
  }
  return "other";
}

std::optional<RegionKind> parse_region_kind(const std::string& s) noexcept {
  if (s == "device") return RegionKind::Device;
  if (s == "host") return RegionKind::Host;
  if (s == "module") return RegionKind::Module;
  if (s == "other") return RegionKind::Other;
  return std::nullopt;
}

namespace {
struct DTypeEntry {
  std::string_view name;
  unsigned size;
};
constexpr DTypeEntry kDTypes[] = {
    {"bool", 1}, {"u8", 1},  {"i8", 1},  {"f8_e4m3", 1}, {"f8_e5m2", 1}, {"u16", 2},
    {"i16", 2},  {"f16", 2}, {"bf16", 2}, {"u32", 4},    {"i32", 4},     {"f32", 4},
    {"u64", 8},  {"i64", 8}, {"f64", 8}, {"c64", 8},    {"c128", 16},
};
}  // namespace

unsigned dtype_size(const std::string& dtype) noexcept {
  for (const auto& e : kDTypes)
    if (e.name == dtype) return e.size;
  return 0;
}

bool dtype_name_valid(const std::string& dtype) noexcept {
  if (dtype.empty() || dtype.size() > 32) return false;
  for (char c : dtype)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace vramsnap
