// One region's bytes from a regular file (region_from_file), and the size
// strings of spec files (parse_size). Shared by every capture input: spec
// files here, the tool's --region arguments through the public API.
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <new>
#include <string_view>

#include "core/checked_math.h"
#include "io/file.h"
#include "io/fs_query.h"
#include "vramsnap/sources.hpp"

namespace vramsnap {
namespace {

Error usage_error(std::string message) { return make_error(ErrorKind::Usage, std::move(message)); }

// Decimal, or hexadecimal with 0x; no sign, no spaces, no suffix.
std::optional<uint64_t> parse_uint_text(std::string_view t) {
  unsigned base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : t) {
    unsigned d;
    if (c >= '0' && c <= '9') d = unsigned(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
    else return std::nullopt;
    auto m = core::checked_mul(v, base);
    if (!m) return std::nullopt;
    auto a = core::checked_add(*m, d);
    if (!a) return std::nullopt;
    v = *a;
  }
  return v;
}

Result<RegionSource> region_from_file_unguarded(RegionFileRequest f) {
  if (f.path.empty()) return usage_error("path: empty path");
  if (f.path.find('\0') != std::string::npos) return usage_error("path: path contains a NUL byte");
  struct stat st {};
  if (::stat(f.path.c_str(), &st) != 0) return io::errno_error(ErrorKind::IO, "path: " + f.path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorKind::IO, "path: " + f.path + ": is " +
                                         (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                                         "; a region's bytes must come from a regular file");
  const auto file_size = static_cast<uint64_t>(st.st_size);
  // procfs and sysfs files report size 0 (or a page) whatever they hold; a
  // region of the reported size would silently capture nothing. Refused
  // rather than read to EOF: their content changes from read to read.
  VRAMSNAP_ASSIGN_OR_RETURN(const bool longer, io::holds_bytes_past(f.path, file_size));
  if (longer)
    return make_error(ErrorKind::IO, "path: " + f.path + ": holds more than the " + std::to_string(file_size) +
                                         " bytes its size says (a procfs or sysfs file, or one still growing); "
                                         "copy it to a regular file first");
  const uint64_t offset = f.offset.value_or(0);
  if (offset > file_size)
    return usage_error("offset: " + std::to_string(offset) + " is past the end of " + f.path + " (" +
                       std::to_string(file_size) + " bytes)");
  const uint64_t size = f.size.value_or(file_size - offset);
  if (size > file_size - offset)
    return usage_error("size: " + std::to_string(size) + " bytes at offset " + std::to_string(offset) +
                       " run past the end of " + f.path + " (" + std::to_string(file_size) + " bytes)");

  RegionSource r;
  r.meta = std::move(f.meta);
  r.meta.size = size;
  // Like safetensors tensors: a device region names device 0 unless told.
  r.meta.device = f.device ? *f.device : (r.meta.kind == RegionKind::Device ? 0 : -1);
  std::string field;
  if (auto v = validate_region(r.meta, &field); !v.ok()) return Error(v.error().kind(), field + ": " + v.error().message());
  r.path = std::move(f.path);
  r.offset = offset;
  return r;
}

}  // namespace

Result<RegionSource> region_from_file(RegionFileRequest request) {
  try {
    return region_from_file_unguarded(std::move(request));
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::Limit, "out of memory");
  }
}

std::optional<uint64_t> parse_size(const std::string& text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) return parse_uint_text(text);
  const size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0 || text.empty()) return std::nullopt;
  auto value = parse_uint_text(std::string_view(text).substr(0, digits));
  if (!value) return std::nullopt;
  std::string unit = digits == std::string::npos ? std::string() : text.substr(digits);
  for (char& c : unit) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  unsigned shift = 0;
  if (!unit.empty() && unit != "b") {
    // Binary multiples only; "KB"/"MB" are refused rather than guessed at,
    // since they mean powers of ten to many readers.
    const size_t p = std::string_view("kmgtpe").find(unit[0]);
    const std::string rest = unit.substr(1);
    if (p == std::string_view::npos || !(rest.empty() || rest == "i" || rest == "ib")) return std::nullopt;
    shift = 10 * unsigned(p + 1);
  }
  if (*value > (UINT64_MAX >> shift)) return std::nullopt;
  return *value << shift;
}

}  // namespace vramsnap
