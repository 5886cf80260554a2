#include "format/manifest.h"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/checked_math.h"
#include "crypto/digest.h"
#include "format/layout.h"
#include "format/names.h"

namespace vramsnap::format {
namespace {

using nlohmann::json;

Error bad(std::string msg) { return Error(ErrorKind::Format, "manifest: " + std::move(msg)); }


json labels_json(const std::map<std::string, std::string>& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

Result<std::map<std::string, std::string>> parse_labels(const json& j, const std::string& where) {
  if (!j.is_object()) return bad(where + " is not an object");
  if (j.size() > kMaxLabelCount) return bad(fmt::format("{} has {} labels (at most {})", where, j.size(), kMaxLabelCount));
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return bad(fmt::format("{}.{} is not a string", where, k));
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

// A member of obj, else of defaults (the file's region_defaults, which fill
// in what a region lacks without being copied into it), else null.
const json* lookup(const json& obj, const char* key, const json* defaults = nullptr) {
  if (auto it = obj.find(key); it != obj.end()) return &*it;
  if (defaults)
    if (auto it = defaults->find(key); it != defaults->end()) return &*it;
  return nullptr;
}

Result<uint64_t> get_u64(const json& obj, const char* key, const std::string& where, bool required = true,
                         uint64_t fallback = 0) {
  const json* it = lookup(obj, key);
  if (!it) {
    if (required) return bad(fmt::format("{}: missing \"{}\"", where, key));
    return fallback;
  }
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
    return bad(fmt::format("{}.{} is not an unsigned integer", where, key));
  return it->get<uint64_t>();
}

Result<std::string> get_str(const json& obj, const char* key, const std::string& where, bool required = true,
                            const json* defaults = nullptr) {
  const json* it = lookup(obj, key, defaults);
  if (!it) {
    if (required) return bad(fmt::format("{}: missing \"{}\"", where, key));
    return std::string{};
  }
  if (!it->is_string()) return bad(fmt::format("{}.{} is not a string", where, key));
  return it->get<std::string>();
}

std::optional<uint64_t> parse_hex_u64(const std::string& s) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<RegionMeta> parse_region(const json& j, const json* defaults, size_t index) {
  std::string where = fmt::format("regions[{}]", index);
  if (!j.is_object()) return bad(where + " is not an object");
  RegionMeta r;
  VRAMSNAP_ASSIGN_OR_RETURN(r.name, get_str(j, "name", where));
  VRAMSNAP_ASSIGN_OR_RETURN(std::string kind, get_str(j, "kind", where, true, defaults));
  auto k = parse_region_kind(kind);
  if (!k) return bad(fmt::format("{}.kind \"{}\" is not device, host, module or other", where, kind));
  r.kind = *k;
  VRAMSNAP_ASSIGN_OR_RETURN(r.size, get_u64(j, "size", where));
  VRAMSNAP_ASSIGN_OR_RETURN(r.dtype, get_str(j, "dtype", where, false, defaults));
  if (auto it = j.find("shape"); it != j.end()) {
    if (!it->is_array()) return bad(where + ".shape is not an array");
    if (it->size() > kMaxShapeRank) return bad(fmt::format("{}.shape has rank {} (at most {})", where, it->size(), kMaxShapeRank));
    for (const auto& d : *it) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
        return bad(where + ".shape holds a value that is not an unsigned integer");
      r.shape.push_back(d.get<uint64_t>());
    }
  }
  if (const json* it = lookup(j, "device", defaults)) {
    if (!it->is_number_integer() || (it->is_number_unsigned() && it->get<uint64_t>() > 1023) ||
        it->get<int64_t>() < -1 || it->get<int64_t>() > 1023)
      return bad(where + ".device is not an integer in -1..1023");
    r.device = static_cast<int32_t>(it->get<int64_t>());
  }
  if (auto it = j.find("va"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return bad(where + ".va is not a hex string");
    auto v = parse_hex_u64(it->get<std::string>());
    if (!v) return bad(where + ".va is not a hex string like \"0x7f0000000000\"");
    r.va = *v;
  }
  {
    // The enclosing allocation: both members or neither (section 7.3).
    auto base = j.find("alloc_base");
    const bool has_base = base != j.end() && !base->is_null();
    const bool has_size = j.contains("alloc_size");
    if (has_base != has_size) return bad(where + ": alloc_base and alloc_size go together");
    if (has_base) {
      if (!base->is_string()) return bad(where + ".alloc_base is not a hex string");
      auto v = parse_hex_u64(base->get<std::string>());
      if (!v) return bad(where + ".alloc_base is not a hex string like \"0x7f0000000000\"");
      VRAMSNAP_ASSIGN_OR_RETURN(uint64_t size, get_u64(j, "alloc_size", where));
      r.alloc = AllocationRange{*v, size};
    }
  }
  if (auto it = j.find("flags"); it != j.end()) {
    if (!it->is_array()) return bad(where + ".flags is not an array");
    for (const auto& f : *it) {
      if (!f.is_string()) return bad(where + ".flags holds a non-string");
      auto s = f.get<std::string>();
      if (s == "read_mostly") r.flags |= kFlagReadMostly;
      else if (s == "warm") r.flags |= kFlagWarm;
      // Unknown flags are hints from a newer writer: ignored.
    }
  }
  if (auto it = j.find("labels"); it != j.end()) {
    VRAMSNAP_ASSIGN_OR_RETURN(r.labels, parse_labels(*it, where + ".labels"));
  }
  auto st = validate_region(r);
  // Caps read from a file are format errors (exit 3), whatever kind the
  // shared validator uses for capture inputs.
  if (!st.ok()) return Error(ErrorKind::Format, "manifest: " + where + ": " + st.error().message());
  return r;
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

namespace {

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

namespace {

// Converts each element of the top-level "regions" array as soon as the
// parser has built it, then drops it from the tree: a manifest of 60,000
// regions never holds 60,000 JSON objects at once (their allocation, first
// touch and teardown cost more than the parse). The first failure is kept
// and reported where the whole-tree walk would report it. Only when
// region_defaults precedes "regions" and neither member repeats are the
// results the whole-tree walk's; otherwise (a file our writer never makes)
// the caller parses again without this.
class RegionStream {
 public:
  explicit RegionStream(bool use_defaults) : use_defaults_(use_defaults) {}

  json::parser_callback_t callback() {
    return [this](int depth, json::parse_event_t ev, json& parsed) { return on_event(depth, ev, parsed); };
  }
  bool usable() const { return regions_keys_ <= 1 && defaults_keys_ <= 1 && !defaults_late_; }
  size_t count() const { return count_; }
  Result<std::vector<RegionMeta>> take() {
    if (first_error_) return std::move(*first_error_);
    return std::move(regions_);
  }

 private:
  using Ev = json::parse_event_t;
  bool on_event(int depth, Ev ev, json& parsed) {
    if (depth == 1) {
      if (ev == Ev::key) {
        key_ = parsed.is_string() ? parsed.get<std::string>() : std::string{};
        if (key_ == "regions") ++regions_keys_;
        if (key_ == "region_defaults") defaults_late_ = regions_keys_ > 0, ++defaults_keys_;
      } else if (ev == Ev::array_start) {
        in_regions_ = key_ == "regions";
      } else if (ev == Ev::array_end || ev == Ev::object_start) {
        in_regions_ = false;
      }
      if (key_ == "region_defaults" && (ev == Ev::object_end || ev == Ev::array_end || ev == Ev::value))
        defaults_ = parsed;
      return true;
    }
    if (depth != 2 || !in_regions_ || !(ev == Ev::object_end || ev == Ev::array_end || ev == Ev::value)) return true;
    const size_t i = count_++;
    if (first_error_ || i >= kMaxRegionCount) return false;
    const json* d = use_defaults_ && defaults_.is_object() ? &defaults_ : nullptr;
    auto r = parse_region(parsed, d, i);
    if (!r.ok()) first_error_ = std::move(r).error();
    else regions_.push_back(std::move(*r));
    return false;
  }

  bool use_defaults_;
  std::string key_;
  bool in_regions_ = false, defaults_late_ = false;
  int regions_keys_ = 0, defaults_keys_ = 0;
  size_t count_ = 0;
  json defaults_;
  std::vector<RegionMeta> regions_;
  std::optional<Error> first_error_;
};

}  // namespace

Result<Manifest> parse_manifest(std::string_view text, bool region_defaults) {
  if (!json_depth_ok(text)) return bad(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  // nlohmann::json stops at a NUL byte as if the input ended there, which
  // would accept anything after it. No JSON text contains a raw NUL.
  if (text.find('\0') != std::string_view::npos) return bad("not valid JSON (contains a NUL byte)");
  std::optional<RegionStream> stream(std::in_place, region_defaults);
  json j = json::parse(text.begin(), text.end(), stream->callback(), /*allow_exceptions=*/false);
  if (!j.is_discarded() && !stream->usable()) {
    stream.reset();
    j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  }
  if (j.is_discarded()) return bad("not valid JSON");
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
  if ((stream ? stream->count() : rit->size()) > kMaxRegionCount) return bad("too many regions");
  const json* defaults = nullptr;
  if (auto dit = j.find("region_defaults"); region_defaults && dit != j.end()) {
    if (!dit->is_object()) return bad("region_defaults is not an object");
    defaults = &*dit;
  }
  if (stream) {
    VRAMSNAP_ASSIGN_OR_RETURN(m.regions, stream->take());
    return m;
  }
  m.regions.reserve(rit->size());
  for (size_t i = 0; i < rit->size(); ++i) {
    // A default fills in a member the region lacks; parse_region checks it
    // like any other value, naming the region.
    VRAMSNAP_ASSIGN_OR_RETURN(auto r, parse_region((*rit)[i], defaults, i));
    m.regions.push_back(std::move(r));
  }
  return m;
}

}  // namespace vramsnap::format

namespace vramsnap {

Status validate_region(const RegionMeta& r, std::string* field) {
  auto fail = [&](const char* f, ErrorKind kind, std::string message) -> Status {
    if (field) *field = f;
    return Error(kind, std::move(message));
  };
  using format::kMaxRegionSize;
  using format::kMaxShapeRank;
  if (auto p = format::region_name_problem(r.name); !p.empty())
    return fail("name", ErrorKind::Usage, fmt::format("region name {} {}", format::printable(r.name), p));
  if (r.size > kMaxRegionSize)
    return fail("size", ErrorKind::Limit,
                fmt::format("region \"{}\": size {} exceeds the cap of {}", r.name, r.size, kMaxRegionSize));
  if (!r.dtype.empty() && !dtype_name_valid(r.dtype))
    return fail("dtype", ErrorKind::Usage,
                fmt::format("region \"{}\": dtype {} is not a valid dtype name (1-32 of [a-z0-9_], e.g. bf16, f16, "
                            "f32, u8)", r.name, format::printable(r.dtype)));
  if (r.device < -1 || r.device > 1023)
    return fail("device", ErrorKind::Usage,
                fmt::format("region \"{}\": device {} is not in -1..1023 (-1: none)", r.name, r.device));
  if (r.shape.size() > kMaxShapeRank)
    return fail("shape", ErrorKind::Usage,
                fmt::format("region \"{}\": shape rank {} exceeds {}", r.name, r.shape.size(), kMaxShapeRank));
  if (unsigned es = dtype_size(r.dtype); es != 0 && !r.shape.empty()) {
    std::optional<uint64_t> n = es;
    for (auto d : r.shape) n = n ? core::checked_mul(*n, d) : std::nullopt;
    if (!n || *n != r.size)
      return fail("shape", ErrorKind::Usage,
                  fmt::format("region \"{}\": shape x dtype size does not equal the region size {} (shape [{}] of "
                              "{} is {} bytes)", r.name, r.size, fmt::join(r.shape, ", "), r.dtype,
                              n ? std::to_string(*n) : std::string("more than 2^64")));
  }
  if (r.alloc) {
    if (!r.va)
      return fail("alloc", ErrorKind::Usage,
                  fmt::format("region \"{}\": an enclosing allocation without a va", r.name));
    const auto alloc_end = core::checked_add(r.alloc->base, r.alloc->size);
    if (r.alloc->size == 0 || !alloc_end)
      return fail("alloc", ErrorKind::Usage,
                  fmt::format("region \"{}\": allocation {:#x} + {} is empty or overflows", r.name, r.alloc->base,
                              r.alloc->size));
    if (!core::range_within(*r.va, r.size, r.alloc->base, *alloc_end))
      return fail("alloc", ErrorKind::Usage,
                  fmt::format("region \"{}\": [va, va + size) is not inside its allocation [{:#x}, {:#x})", r.name,
                              r.alloc->base, *alloc_end));
  }
  // Most regions have no labels: no message context is built for them.
  auto st = r.labels.empty() ? Status{} : format::validate_labels(r.labels, fmt::format("region \"{}\"", r.name));
  if (!st.ok()) {
    const ErrorKind kind = st.error().kind() == ErrorKind::Limit ? ErrorKind::Limit : ErrorKind::Usage;
    return fail("labels", kind, st.error().message());
  }
  return {};
}

}  // namespace vramsnap
