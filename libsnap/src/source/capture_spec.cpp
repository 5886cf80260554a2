// Capture spec files (formats/capture-spec.schema.json). Spec files come from
// deploy hooks, so anything unexpected is an error naming the file and the
// JSON path: a typo must not silently change what gets captured. Region
// metadata is checked by the format's rules (validate_region, through
// region_from_file), not by a copy of them here.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <new>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "format/layout.h"
#include "format/names.h"
#include "io/file.h"
#include "source/json_scan.h"
#include "source/sources.h"

namespace vramsnap::source {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxSpecBytes = 16ull << 20;

using format::printable;

std::string dtype_problem(const std::string& dtype) {
  if (dtype_name_valid(dtype)) return {};
  return printable(dtype) + " is not a dtype name (1-32 of [a-z0-9_], e.g. bf16, f16, f32, u8)";
}

std::optional<uint32_t> parse_flag(std::string_view f) {
  if (f == "read_mostly") return kFlagReadMostly;
  if (f == "warm") return kFlagWarm;
  return std::nullopt;
}

// ---- spec files ---------------------------------------------------------------

std::string member(const std::string& parent, const std::string& key) {
  const bool plain = !key.empty() && key.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                                         std::string::npos;
  if (!plain) return parent + "[" + printable(key) + "]";
  return parent.empty() ? key : parent + "." + key;
}
std::string element(const std::string& parent, size_t i) { return parent + "[" + std::to_string(i) + "]"; }

// The duplicate keys, over-long lists and over-deep nesting of a spec file,
// named by their JSON path: a duplicated key in a deploy hook is as much a
// typo as an unknown one.
class SpecScan final : public JsonScan {
 public:
  // root > regions > region > labels/shape/flags; no list in a spec is longer
  // than the region count limit, which bounds the DOM a 16 MiB file can build.
  explicit SpecScan(std::string_view text) : JsonScan(format::kMaxRegionCount, 4), text_(text) {}

 private:
  // JSON path of the value currently open in frames()[0, n).
  std::string path(size_t n) const {
    std::string p;
    for (size_t i = 0; i < n; ++i)
      p = frames()[i].object ? member(p, frames()[i].key) : element(p, frames()[i].elements - 1);
    return p;
  }
  std::string duplicate_key(const std::string& k) const override {
    const std::string p = path(frames().size() - 1);
    return (p.empty() ? "" : p + ": ") + "duplicate key " + printable(k);
  }
  std::string not_json(size_t position) const override {
    // position is 1-based; people fix spec files in editors, so say line and column.
    const size_t at = std::min(position, text_.size() + 1) - (position > 0 ? 1 : 0);
    const std::string_view before = text_.substr(0, at);
    const size_t line = size_t(std::count(before.begin(), before.end(), '\n')) + 1;
    const size_t nl = before.rfind('\n');
    const size_t column = nl == std::string_view::npos ? at + 1 : at - nl;
    return "not valid JSON (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  }
  std::string too_many_elements() const override {
    return path(frames().size() - 1) + ": more than " + std::to_string(format::kMaxRegionCount) + " elements";
  }
  std::string too_deep() const override { return path(frames().size()) + ": nested deeper than a spec allows"; }

  std::string_view text_;
};

const char* kind_of(const json& j) {
  if (j.is_number_unsigned()) return "a non-negative integer";
  if (j.is_number_integer()) return "a negative integer";
  if (j.is_number_float()) return "a non-integer number";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_null()) return "null";
  if (j.is_array()) return "an array";
  return "an object";
}

class SpecReader {
 public:
  explicit SpecReader(std::string file) : file_(std::move(file)), dir_(std::filesystem::path(file_).parent_path()) {}

  Result<CaptureSpec> read() {
    VRAMSNAP_ASSIGN_OR_RETURN(const std::string text, slurp());
    SpecScan scan(text);
    if (!json::sax_parse(text.begin(), text.end(), &scan) || !scan.problem().empty())
      return err("", scan.problem().empty() ? "not valid JSON" : scan.problem());
    const json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return err("", "not valid JSON");
    if (!root.is_object()) return err("", std::string("a spec must be a JSON object, not ") + kind_of(root));
    VRAMSNAP_TRY(only_keys(root, "", {"regions", "safetensors", "labels", "generation", "chunk_size", "codec", "level"}));

    CaptureSpec spec;
    if (root.contains("regions")) {
      VRAMSNAP_TRY(expect(root["regions"], "regions", root["regions"].is_array(), "an array"));
      size_t i = 0;
      for (const auto& r : root["regions"]) {
        VRAMSNAP_ASSIGN_OR_RETURN(auto region, region_entry(r, element("regions", i++)));
        VRAMSNAP_TRY(add(spec, std::move(region), element("regions", i - 1)));
      }
    }
    if (root.contains("safetensors")) {
      VRAMSNAP_TRY(expect(root["safetensors"], "safetensors", root["safetensors"].is_array(), "an array"));
      size_t i = 0;
      for (const auto& s : root["safetensors"]) VRAMSNAP_TRY(safetensors_entry(spec, s, element("safetensors", i++)));
    }
    if (root.contains("labels")) {
      VRAMSNAP_ASSIGN_OR_RETURN(spec.labels, labels(root["labels"], "labels"));
    }
    if (root.contains("generation")) {
      VRAMSNAP_ASSIGN_OR_RETURN(spec.generation, uint_value(root["generation"], "generation"));
    }
    if (root.contains("chunk_size")) {
      VRAMSNAP_ASSIGN_OR_RETURN(const uint64_t cs, size_value(root["chunk_size"], "chunk_size"));
      if (cs < format::kMinChunkSize || cs > format::kMaxChunkRawSize)
        return err("chunk_size", std::to_string(cs) + " is outside 64 KiB .. 256 MiB");
      spec.chunk_size = cs;
    }
    if (root.contains("codec")) {
      const json& c = root["codec"];
      const bool ok = c.is_string() && (c == "auto" || c == "raw" || c == "zstd" || c == "shuffle" || c == "planes" ||
                      c == "palette");
      if (!ok) return err("codec", "expected one of \"auto\", \"raw\", \"zstd\", \"shuffle\", \"planes\", \"palette\", got " +
                                       (c.is_string() ? printable(c.get<std::string>()) : std::string(kind_of(c))));
      spec.codec = c.get<std::string>();
    }
    if (root.contains("level")) {
      const json& l = root["level"];
      if (!l.is_number_integer()) return err("level", std::string("expected an integer, got ") + kind_of(l));
      // The writer's range (capture --level): -7 .. 19.
      const bool in_range = l.is_number_unsigned() ? l.get<uint64_t>() <= 19u
                                                   : l.get<int64_t>() >= -7 && l.get<int64_t>() <= 19;
      if (!in_range) return err("level", "outside the supported range -7 .. 19");
      spec.level = static_cast<int>(l.get<int64_t>());
    }
    return spec;
  }

 private:
  Error err(const std::string& jpath, const std::string& message, ErrorKind kind = ErrorKind::Usage) const {
    return make_error(kind, file_ + ": " + (jpath.empty() ? "" : jpath + ": ") + message);
  }

  Result<std::string> slurp() const {
    // Regular files only: a FIFO named as the spec is refused, not waited on.
    VRAMSNAP_ASSIGN_OR_RETURN(auto file, io::InputFile::open(file_));
    if (file.size() > kMaxSpecBytes)
      return err("", std::to_string(file.size()) + " bytes exceeds the 16 MiB cap for spec files", ErrorKind::Limit);
    std::string text(static_cast<size_t>(file.size()), '\0');
    VRAMSNAP_TRY(file.read_exact({reinterpret_cast<uint8_t*>(text.data()), text.size()}, 0));

    return text;
  }

  std::string resolve(const std::string& p) const {
    const std::filesystem::path path(p);
    return path.is_absolute() || dir_.empty() ? p : (dir_ / path).string();
  }

  Status expect(const json& j, const std::string& jpath, bool ok, const char* what) const {
    if (ok) return {};
    return err(jpath, std::string("expected ") + what + ", got " + kind_of(j));
  }

  Status only_keys(const json& obj, const std::string& jpath, std::initializer_list<std::string_view> valid) const {
    for (const auto& [k, v] : obj.items()) {
      bool known = false;
      for (auto name : valid) known = known || k == name;
      if (known) continue;
      std::string list;
      for (auto name : valid) list += (list.empty() ? "" : ", ") + std::string(name);
      return err(jpath, "unknown key " + printable(k) + " (valid: " + list + ")");
    }
    return {};
  }

  Result<std::string> string_value(const json& j, const std::string& jpath) const {
    VRAMSNAP_TRY(expect(j, jpath, j.is_string(), "a string"));
    return j.get<std::string>();
  }
  Result<uint64_t> uint_value(const json& j, const std::string& jpath) const {
    VRAMSNAP_TRY(expect(j, jpath, j.is_number_unsigned(), "a non-negative integer"));
    return j.get<uint64_t>();
  }
  Result<uint64_t> size_value(const json& j, const std::string& jpath) const {
    if (j.is_number_unsigned()) return j.get<uint64_t>();
    if (!j.is_string()) return err(jpath, std::string("expected a byte count or a size string, got ") + kind_of(j));
    auto v = parse_size(j.get<std::string>());
    if (!v) return err(jpath, printable(j.get<std::string>()) + " is not a size like 4096, \"64KiB\" or \"0x1000\"");
    return *v;
  }
  Result<int32_t> device_value(const json& j, const std::string& jpath) const {
    if (!j.is_number_unsigned() || j.get<uint64_t>() > INT32_MAX)
      return err(jpath, std::string("expected a device ordinal (0, 1, ...), got ") +
                            (j.is_number_unsigned() ? "a number too large" : kind_of(j)));
    return static_cast<int32_t>(j.get<uint64_t>());
  }
  Result<std::map<std::string, std::string>> labels(const json& j, const std::string& jpath) const {
    VRAMSNAP_TRY(expect(j, jpath, j.is_object(), "an object of strings"));
    if (j.size() > format::kMaxLabelCount)
      return err(jpath, std::to_string(j.size()) + " labels, more than " + std::to_string(format::kMaxLabelCount),
                 ErrorKind::Limit);
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : j.items()) {
      const std::string at = member(jpath, k);
      if (k.empty()) return err(jpath, "empty label key");
      if (k.size() > format::kMaxLabelBytes) return err(at, "label key longer than 4096 bytes", ErrorKind::Limit);
      VRAMSNAP_ASSIGN_OR_RETURN(auto value, string_value(v, at));
      if (value.size() > format::kMaxLabelBytes) return err(at, "label value longer than 4096 bytes", ErrorKind::Limit);
      out.emplace(k, std::move(value));
    }
    return out;
  }

  Result<RegionSource> region_entry(const json& j, const std::string& jp) const {
    VRAMSNAP_TRY(expect(j, jp, j.is_object(), "an object"));
    VRAMSNAP_TRY(only_keys(j, jp, {"name", "path", "kind", "dtype", "shape", "va", "device", "flags", "labels",
                                   "offset", "size"}));
    for (const char* required : {"name", "path"})
      if (!j.contains(required)) return err(jp, std::string("missing required key '") + required + "'");
    RegionFileRequest f;
    VRAMSNAP_ASSIGN_OR_RETURN(f.meta.name, string_value(j["name"], jp + ".name"));
    VRAMSNAP_ASSIGN_OR_RETURN(const std::string path, string_value(j["path"], jp + ".path"));
    if (path.empty()) return err(jp + ".path", "empty path");
    f.path = resolve(path);
    if (j.contains("kind")) {
      VRAMSNAP_ASSIGN_OR_RETURN(const std::string kind, string_value(j["kind"], jp + ".kind"));
      auto k = parse_region_kind(kind);
      if (!k) return err(jp + ".kind", printable(kind) + " is not host, device, module or other");
      f.meta.kind = *k;
    }
    if (j.contains("dtype")) {
      VRAMSNAP_ASSIGN_OR_RETURN(f.meta.dtype, string_value(j["dtype"], jp + ".dtype"));
      if (auto p = dtype_problem(f.meta.dtype); !p.empty()) return err(jp + ".dtype", p);
    }
    if (j.contains("shape")) {
      const json& s = j["shape"];
      VRAMSNAP_TRY(expect(s, jp + ".shape", s.is_array(), "an array of non-negative integers"));
      for (size_t i = 0; i < s.size(); ++i) {
        VRAMSNAP_ASSIGN_OR_RETURN(const uint64_t d, uint_value(s[i], element(jp + ".shape", i)));
        f.meta.shape.push_back(d);
      }
    }
    if (j.contains("va")) {
      const json& va = j["va"];
      if (va.is_number_unsigned()) {
        f.meta.va = va.get<uint64_t>();
      } else {
        const std::string text = va.is_string() ? va.get<std::string>() : std::string();
        const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        if (hex) f.meta.va = parse_size(text);  // "0x..." only: plain hex digits
        if (!f.meta.va) return err(jp + ".va", std::string("expected an address: a \"0x...\" hex string or an integer, got ") +
                                              (va.is_string() ? printable(text) : std::string(kind_of(va))));
      }
    }
    if (j.contains("device")) {
      VRAMSNAP_ASSIGN_OR_RETURN(f.device, device_value(j["device"], jp + ".device"));
    }
    if (j.contains("flags")) {
      const json& fl = j["flags"];
      VRAMSNAP_TRY(expect(fl, jp + ".flags", fl.is_array(), "an array of flag names"));
      for (size_t i = 0; i < fl.size(); ++i) {
        VRAMSNAP_ASSIGN_OR_RETURN(const std::string name, string_value(fl[i], element(jp + ".flags", i)));
        auto flag = parse_flag(name);
        if (!flag) return err(element(jp + ".flags", i), printable(name) + " is not a flag (read_mostly, warm)");
        f.meta.flags |= *flag;
      }
    }
    if (j.contains("labels")) {
      VRAMSNAP_ASSIGN_OR_RETURN(f.meta.labels, labels(j["labels"], jp + ".labels"));
    }
    if (j.contains("offset")) {
      VRAMSNAP_ASSIGN_OR_RETURN(f.offset, size_value(j["offset"], jp + ".offset"));
    }
    if (j.contains("size")) {
      VRAMSNAP_ASSIGN_OR_RETURN(f.size, size_value(j["size"], jp + ".size"));
    }
    // Its messages start with the field at fault: "size: ...".
    auto r = region_from_file(std::move(f));
    if (!r.ok()) return std::move(r).error().with_context(file_ + ": " + jp + ".");
    return r;
  }

  Status safetensors_entry(CaptureSpec& spec, const json& j, const std::string& jp) {
    std::string path, prefix;
    int32_t device = -1;
    if (j.is_string()) {
      path = j.get<std::string>();
    } else {
      VRAMSNAP_TRY(expect(j, jp, j.is_object(), "a path string or an object"));
      VRAMSNAP_TRY(only_keys(j, jp, {"path", "prefix", "device"}));
      if (!j.contains("path")) return err(jp, "missing required key 'path'");
      VRAMSNAP_ASSIGN_OR_RETURN(path, string_value(j["path"], jp + ".path"));
      if (j.contains("prefix")) {
        VRAMSNAP_ASSIGN_OR_RETURN(prefix, string_value(j["prefix"], jp + ".prefix"));
      }
      if (j.contains("device")) {
        VRAMSNAP_ASSIGN_OR_RETURN(device, device_value(j["device"], jp + ".device"));
      }
    }
    if (path.empty()) return err(jp, "empty path");
    if (path.find('\0') != std::string::npos) return err(jp, "path contains a NUL byte");
    auto regions = safetensors_regions(resolve(path), prefix, device);
    if (!regions) return std::move(regions).error().with_context(file_ + ": " + jp + ": ");
    for (auto& r : *regions) VRAMSNAP_TRY(add(spec, std::move(r), jp));
    return {};
  }

  // Duplicate names are caught here too, where the message can point at both
  // places in the spec.
  Status add(CaptureSpec& spec, RegionSource r, const std::string& jp) {
    auto [it, inserted] = seen_.emplace(r.meta.name, jp);
    if (!inserted)
      return err(jp, "region name " + printable(r.meta.name) + " is already used by " + it->second);
    spec.regions.push_back(std::move(r));
    return {};
  }

  std::string file_;
  std::filesystem::path dir_;
  std::map<std::string, std::string> seen_;  // region name -> JSON path that defined it
};

}  // namespace

}  // namespace vramsnap::source

namespace vramsnap {

Result<CaptureSpec> read_capture_spec(const std::string& path) {
  try {
    return source::SpecReader(path).read();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::Limit, path + ": out of memory reading the spec");
  } catch (const std::exception& e) {
    // nlohmann or std::filesystem may throw; never past the library boundary.
    return make_error(ErrorKind::Usage, path + ": " + e.what());
  }
}

}  // namespace vramsnap
