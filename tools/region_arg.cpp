#include "region_arg.h"

#include <charconv>
#include <climits>
#include <new>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "text.h"

namespace vramsnap::cli {
namespace {

constexpr char kCommaHint[] = "; a PATH containing ',' must be given in a --spec file";

Error usage_error(std::string message) { return make_error(ErrorKind::Usage, std::move(message)); }

// Decimal, or hexadecimal with 0x; no sign, no spaces, no suffix.
std::optional<uint64_t> parse_uint(std::string_view t) {
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty() || t[0] == '-' || t[0] == '+') return std::nullopt;
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    parts.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) return parts;
    start = p + 1;
  }
}

std::optional<uint32_t> parse_flag(std::string_view f) {
  if (f == "read_mostly") return kFlagReadMostly;
  if (f == "warm") return kFlagWarm;
  return std::nullopt;
}

Result<RegionSource> parse_unguarded(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos) return usage_error("--region " + quoted(arg) + ": expected NAME=PATH[,key=value...]");
  if (eq == 0) return usage_error("--region " + quoted(arg) + ": NAME before '=' is empty");
  RegionFileRequest f;
  f.meta.name = arg.substr(0, eq);
  const std::string where = "--region " + quoted(f.meta.name) + ": ";
  auto bad = [&](const std::string& field, const std::string& message) { return usage_error(where + field + ": " + message); };
  // PATH ends at the first ',': options follow it.
  const auto parts = split(arg.substr(eq + 1), ',');
  f.path = parts[0];
  if (f.path.empty()) return bad("path", "PATH after '=' is empty");

  std::set<std::string> seen;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& opt = parts[i];
    const size_t e = opt.find('=');
    if (e == std::string::npos) return usage_error(where + "option " + quoted(opt) + " is not key=value" + kCommaHint);
    const std::string key = opt.substr(0, e), val = opt.substr(e + 1);
    if (!seen.insert(key).second) return bad(key, "given more than once");
    if (key == "kind") {
      auto k = parse_region_kind(val);
      if (!k) return bad(key, quoted(val) + " is not host, device, module or other");
      f.meta.kind = *k;
    } else if (key == "dtype") {
      if (!dtype_name_valid(val))
        return bad(key, quoted(val) + " is not a dtype name (1-32 of [a-z0-9_], e.g. bf16, f16, f32, u8)");
      f.meta.dtype = val;
    } else if (key == "shape") {
      for (const auto& d : split(val, 'x')) {
        const bool decimal = !d.empty() && d.find_first_not_of("0123456789") == std::string::npos;
        auto v = decimal ? parse_uint(d) : std::nullopt;
        if (!v) return bad(key, quoted(val) + " is not a shape like 4096x4096");
        f.meta.shape.push_back(*v);
      }
    } else if (key == "va") {
      f.meta.va = parse_uint(val);
      if (!f.meta.va) return bad(key, quoted(val) + " is not an address like 0x7f00deadbeef");
    } else if (key == "device") {
      auto v = parse_uint(val);
      if (!v || *v > INT32_MAX) return bad(key, quoted(val) + " is not a device ordinal (0, 1, ...)");
      f.device = static_cast<int32_t>(*v);
    } else if (key == "flags") {
      for (const auto& name : split(val, '+')) {
        auto flag = parse_flag(name);
        if (!flag) return bad(key, quoted(name) + " is not a flag (read_mostly, warm)");
        f.meta.flags |= *flag;
      }
    } else if (key == "offset" || key == "size") {
      auto v = parse_size(val);
      if (!v) return bad(key, quoted(val) + " is not a size like 4096, 64KiB or 0x1000");
      (key == "offset" ? f.offset : f.size) = v;
    } else {
      return usage_error(where + "unknown option " + quoted(key) +
                         " (valid: kind, dtype, shape, va, device, flags, offset, size)" + kCommaHint);
    }
  }
  // The library's messages start with the field at fault ("size: ...").
  auto r = region_from_file(std::move(f));
  if (!r.ok()) return std::move(r).error().with_context(where);
  return r;
}

}  // namespace

Result<RegionSource> parse_region_arg(const std::string& arg) {
  try {
    return parse_unguarded(arg);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::Limit, "--region: out of memory");
  }
}

}  // namespace vramsnap::cli
