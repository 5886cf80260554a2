// The manifest writer: snapshot and region metadata as the JSON text of
// formats/snapshot-v1.md section 7, with region_defaults (7.2) when asked.
#include "format/manifest.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vramsnap::format {
namespace {

using nlohmann::json;

json labels_json(const std::map<std::string, std::string>& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

// The most frequent value of f over the regions (the first seen on a tie).
template <class F>
auto most_common(const std::vector<RegionMeta>& regions, F f) {
  std::map<decltype(f(regions.front())), size_t> count;
  auto best = f(regions.front());
  for (const auto& r : regions)
    if (++count[f(r)] > count[best]) best = f(r);
  return best;
}

}  // namespace

std::string encode_manifest(const SnapshotMeta& meta, const std::vector<RegionMeta>& regions, bool region_defaults) {
  json j;
  j["format"] = "vramsnap-manifest";
  j["version"] = 1;
  j["snapshot_id"] = meta.id_hex;
  j["created"] = meta.created;
  j["tool"] = meta.tool;
  j["generation"] = meta.generation;
  j["chunk_size"] = meta.chunk_size;
  j["labels"] = labels_json(meta.labels);
  json src = json::object();
  auto put = [&](const char* k, const std::string& v) { if (!v.empty()) src[k] = v; };
  put("gpu_name", meta.source.gpu_name);
  put("compute_capability", meta.source.compute_capability);
  put("driver_version", meta.source.driver_version);
  put("cuda_runtime", meta.source.cuda_runtime);
  put("host", meta.source.host);
  j["source"] = src;
  // Defaults: what most regions share is written once (section 7.2).
  const bool defaults = region_defaults && !regions.empty();
  RegionKind kind0 = RegionKind::Other;
  std::string dtype0;
  int32_t device0 = -1;
  if (defaults) {
    kind0 = most_common(regions, [](const RegionMeta& r) { return r.kind; });
    dtype0 = most_common(regions, [](const RegionMeta& r) { return r.dtype; });
    device0 = most_common(regions, [](const RegionMeta& r) { return r.device; });
    json d = {{"kind", to_string(kind0)}, {"device", device0}};
    if (!dtype0.empty()) d["dtype"] = dtype0;
    j["region_defaults"] = std::move(d);
  }
  json rs = json::array();
  for (const auto& r : regions) {
    json e;
    e["name"] = r.name;
    if (!defaults || r.kind != kind0) e["kind"] = to_string(r.kind);
    e["size"] = r.size;
    if (defaults ? r.dtype != dtype0 : !r.dtype.empty()) e["dtype"] = r.dtype;  // "" overrides a default: unknown
    if (!r.shape.empty()) e["shape"] = r.shape;
    if (!defaults || r.device != device0) e["device"] = r.device;
    if (r.va) e["va"] = fmt::format("0x{:x}", *r.va);
    if (r.alloc) {
      e["alloc_base"] = fmt::format("0x{:x}", r.alloc->base);
      e["alloc_size"] = r.alloc->size;
    }
    // With defaults, empty flags and labels are left out too: thousands of
    // small regions would otherwise pay for them. Files without bit 2 keep
    // the layout of earlier writers, byte for byte.
    json flags = json::array();
    if (r.flags & kFlagReadMostly) flags.push_back("read_mostly");
    if (r.flags & kFlagWarm) flags.push_back("warm");
    if (!defaults || !flags.empty()) e["flags"] = flags;
    if (!defaults || !r.labels.empty()) e["labels"] = labels_json(r.labels);
    rs.push_back(std::move(e));
  }
  j["regions"] = std::move(rs);
  // Strict UTF-8 was checked on input; replace keeps dump() from throwing.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace vramsnap::format
