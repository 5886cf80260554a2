// The manifest reader's checks of the snapshot's own members (format,
// version, id, labels, source, the regions array and its count) in the order
// formats/snapshot-v1.md section 7 gives; the regions themselves are read by
// manifest_reader.cpp and checked by manifest_region.cpp.
#include "format/manifest.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "format/layout.h"
#include "format/manifest_reader.h"
#include "format/manifest_region.h"
#include "format/names.h"

namespace vramsnap::format {
namespace {

using nlohmann::json;

Error bad(std::string msg) { return manifest_error(std::move(msg)); }

Result<uint64_t> get_u64(const json& obj, const char* key, const std::string& where, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return bad(fmt::format("{}: missing \"{}\"", where, key));
    return uint64_t{0};
  }
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
    return bad(fmt::format("{}.{} is not an unsigned integer", where, key));
  return it->get<uint64_t>();
}

Result<std::string> get_str(const json& obj, const char* key, const std::string& where, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return bad(fmt::format("{}: missing \"{}\"", where, key));
    return std::string{};
  }
  if (!it->is_string()) return bad(fmt::format("{}.{} is not a string", where, key));
  return it->get<std::string>();
}

}  // namespace

bool json_depth_ok(std::string_view s, int max_depth) {
  int depth = 0;
  bool in_str = false, esc = false;
  for (char c : s) {
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '[' || c == '{') { if (++depth > max_depth) return false; }
    else if (c == ']' || c == '}') --depth;
  }
  return true;
}

Status validate_labels(const std::map<std::string, std::string>& labels, const std::string& where) {
  if (labels.size() > kMaxLabelCount)
    return Error(ErrorKind::Limit, fmt::format("{}: {} labels (at most {})", where, labels.size(), kMaxLabelCount));
  for (const auto& [k, v] : labels) {
    if (k.empty()) return Error(ErrorKind::Format, where + ": empty label key");
    if (k.size() > kMaxLabelBytes || v.size() > kMaxLabelBytes)
      return Error(ErrorKind::Limit, fmt::format("{}: label \"{}\" longer than {} bytes", where, k.substr(0, 64), kMaxLabelBytes));
    if (!valid_utf8(k) || !valid_utf8(v)) return Error(ErrorKind::Format, where + ": label is not valid UTF-8");
  }
  return {};
}

Result<Manifest> parse_manifest(std::string_view text, bool region_defaults, size_t expect_regions) {
  if (!json_depth_ok(text)) return bad(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  // nlohmann::json stops at a NUL byte as if the input ended there, which
  // would accept anything after it. No JSON text contains a raw NUL.
  if (text.find('\0') != std::string_view::npos) return bad("not valid JSON (contains a NUL byte)");
  json j;
  RegionsRead regions;
  if (!read_manifest(text, region_defaults, expect_regions, j, regions)) return bad("not valid JSON");
  if (!j.is_object()) return bad("not a JSON object");
  Manifest m;
  VRAMSNAP_ASSIGN_OR_RETURN(std::string fmt_name, get_str(j, "format", "manifest"));
  if (fmt_name != "vramsnap-manifest") return bad("\"format\" is not \"vramsnap-manifest\"");
  VRAMSNAP_ASSIGN_OR_RETURN(uint64_t version, get_u64(j, "version", "manifest"));
  if (version != 1) return bad(fmt::format("manifest version {} is not supported", version));
  VRAMSNAP_ASSIGN_OR_RETURN(m.meta.id_hex, get_str(j, "snapshot_id", "manifest"));
  VRAMSNAP_ASSIGN_OR_RETURN(m.meta.created, get_str(j, "created", "manifest"));
  VRAMSNAP_ASSIGN_OR_RETURN(m.meta.tool, get_str(j, "tool", "manifest"));
  VRAMSNAP_ASSIGN_OR_RETURN(m.meta.generation, get_u64(j, "generation", "manifest"));
  VRAMSNAP_ASSIGN_OR_RETURN(m.meta.chunk_size, get_u64(j, "chunk_size", "manifest", false));
  if (auto it = j.find("labels"); it != j.end()) {
    VRAMSNAP_ASSIGN_OR_RETURN(m.meta.labels, parse_labels(*it, "labels"));
    auto st = validate_labels(m.meta.labels, "manifest: labels");
    if (!st.ok()) return Error(ErrorKind::Format, st.error().message());
  }
  if (auto it = j.find("source"); it != j.end()) {
    if (!it->is_object()) return bad("source is not an object");
    VRAMSNAP_ASSIGN_OR_RETURN(m.meta.source.gpu_name, get_str(*it, "gpu_name", "source", false));
    VRAMSNAP_ASSIGN_OR_RETURN(m.meta.source.compute_capability, get_str(*it, "compute_capability", "source", false));
    VRAMSNAP_ASSIGN_OR_RETURN(m.meta.source.driver_version, get_str(*it, "driver_version", "source", false));
    VRAMSNAP_ASSIGN_OR_RETURN(m.meta.source.cuda_runtime, get_str(*it, "cuda_runtime", "source", false));
    VRAMSNAP_ASSIGN_OR_RETURN(m.meta.source.host, get_str(*it, "host", "source", false));
  }
  for (const std::string* s : {&m.meta.created, &m.meta.tool, &m.meta.source.gpu_name, &m.meta.source.host,
                               &m.meta.source.compute_capability, &m.meta.source.driver_version,
                               &m.meta.source.cuda_runtime})
    if (s->size() > kMaxLabelBytes || !valid_utf8(*s)) return bad("a metadata string is too long or not UTF-8");
  auto rit = j.find("regions");
  if (rit == j.end() || !rit->is_array()) return bad("missing \"regions\" array");
  if (regions.count > kMaxRegionCount) return bad("too many regions");
  if (auto dit = j.find("region_defaults"); region_defaults && dit != j.end() && !dit->is_object())
    return bad("region_defaults is not an object");
  // The first failing region, reported after every check above.
  if (regions.first_error) return std::move(*regions.first_error);
  m.regions = std::move(regions.regions);
  return m;
}

}  // namespace vramsnap::format
