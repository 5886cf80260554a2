#include "backend/compat.h"

#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "vramsnap/restore.hpp"

namespace vramsnap::backend {
namespace {

std::string show(const MajorMinor& v) { return fmt::format("{}.{}", v.major, v.minor); }

bool starts_with_text(const uint8_t* d, size_t n, const char* word) {
  const size_t w = std::strlen(word);
  return n >= w && std::memcmp(d, word, w) == 0;
}

}  // namespace

std::optional<MajorMinor> parse_major_minor(std::string_view s) {
  MajorMinor v;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v.major);
  if (ec != std::errc() || p == s.data() || v.major < 0) return std::nullopt;
  if (p == end) return v;
  if (*p != '.') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, end, v.minor);
  if (ec2 != std::errc() || q != end || q == p + 1 || v.minor < 0) return std::nullopt;
  return v;
}

const char* to_string(ModuleImage image) {
  switch (image) {
    case ModuleImage::Cubin: return "cubin";
    case ModuleImage::Ptx: return "ptx";
    case ModuleImage::Fatbin: return "fatbin";
    case ModuleImage::Unknown: break;
  }
  return "unknown";
}

ModuleImage classify_module_image(const uint8_t* d, size_t n) {
  if (n >= 4 && d[0] == 0x7f && d[1] == 'E' && d[2] == 'L' && d[3] == 'F') return ModuleImage::Cubin;
  if (n >= 4 && d[0] == 0x50 && d[1] == 0xed && d[2] == 0x55 && d[3] == 0xba) return ModuleImage::Fatbin;
  size_t i = 0;
  while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) ++i;
  for (const char* w : {"//", "/*", ".version", ".target"})
    if (starts_with_text(d + i, n - i, w)) return ModuleImage::Ptx;
  return ModuleImage::Unknown;
}

RegionCompat region_portability(const RegionMeta& r, const SourceInfo& source) {
  RegionCompat c;
  if (r.kind != RegionKind::Module) return c;
  c.portable = false;
  c.reason = source.compute_capability.empty()
                 ? "module: machine code for a GPU that was not recorded"
                 : fmt::format("module: machine code for compute capability {}", source.compute_capability);
  return c;
}

RegionCompat region_compat(const RegionMeta& r, const SourceInfo& source, const TargetDevice& target, bool fixed_va,
                           ModuleImage image) {
  RegionCompat c = backend::region_portability(r, source);
  auto refuse = [&](std::string why) {
    c.compatible = false;
    c.reason = std::move(why);
    return c;
  };
  const std::string on = fmt::format("GPU {} ({}{}{})", target.ordinal, target.name, target.name.empty() ? "" : ", ",
                                     fmt::format("compute capability {}", show(target.compute_capability)));
  if (r.kind == RegionKind::Module) {
    auto src = parse_major_minor(source.compute_capability);
    if (!src) {
      c.reason = "module: source compute capability not recorded; the driver decides when it loads";
      return c;
    }
    const MajorMinor& tgt = target.compute_capability;
    if (tgt < *src)
      return refuse(fmt::format("module built on compute capability {} cannot run on {}: neither SASS nor PTX "
                                "runs on an older GPU", show(*src), on));
    if (tgt.major != src->major) {
      if (image == ModuleImage::Cubin)
        return refuse(fmt::format("module is a cubin (SASS) for compute capability {}, which runs only on {}.x "
                                  "GPUs; {} is {}",
                                  show(*src), src->major, on, show(tgt)));
      if (image != ModuleImage::Ptx)
        c.reason = fmt::format("module from compute capability {} loads on {} only if it carries PTX (JIT)",
                               show(*src), on);
    }
    return c;
  }
  if (r.kind == RegionKind::Device && fixed_va && r.va) {
    c.portable = false;
    if (!target.vmm)
      return refuse(fmt::format("fixed-VA placement needs the CUDA virtual memory management API, which {} does "
                                "not support", on));
    auto src_drv = parse_major_minor(source.driver_version);
    c.reason = src_drv && src_drv->major != target.driver.major
                   ? fmt::format("fixed-VA: captured under a CUDA {} driver, restored under {}; the address must "
                                 "be free in this process", show(*src_drv), show(target.driver))
                   : "fixed-VA: the recorded address must be free in this process";
  }
  return c;
}

Status check_restore_compat(const std::vector<RegionMeta>& regions, const SourceInfo& source,
                            const std::vector<int>& region_device, const std::vector<TargetDevice>& devices,
                            bool fixed_va) {
  constexpr int kShown = 3;
  std::string reasons;
  int failed = 0;
  for (size_t i = 0; i < regions.size() && i < region_device.size(); ++i) {
    if (region_device[i] < 0) continue;
    const TargetDevice* t = nullptr;
    for (const auto& d : devices)
      if (d.ordinal == region_device[i]) t = &d;
    if (!t) return Error(ErrorKind::Compat, fmt::format("region \"{}\": GPU {} was not described", regions[i].name,
                                                        region_device[i]));
    RegionCompat c = region_compat(regions[i], source, *t, fixed_va);
    if (c.compatible) continue;
    if (failed++ < kShown) reasons += fmt::format("{}region \"{}\": {}", reasons.empty() ? "" : "; ", regions[i].name, c.reason);
  }
  if (failed == 0) return {};
  if (failed > kShown) reasons += fmt::format("; and {} more region{}", failed - kShown, failed - kShown == 1 ? "" : "s");
  return Error(ErrorKind::Compat, "snapshot incompatible with the target GPU: " + reasons);
}

}  // namespace vramsnap::backend

namespace vramsnap {

Portability portability(const RegionMeta& region, const SourceInfo& source) {
  const backend::RegionCompat c = backend::region_portability(region, source);
  return {c.portable, c.portable ? std::string() : c.reason};
}

}  // namespace vramsnap
