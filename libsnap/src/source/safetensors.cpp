// safetensors reader. The header is hostile input: every length and offset is
// checked against the file before anything is trusted, and no exception from
// the JSON library escapes (errors are values, see vramsnap/error.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/checked_math.h"
#include "format/layout.h"
#include "format/names.h"
#include "io/file.h"
#include "source/json_scan.h"
#include "source/sources.h"

namespace vramsnap::source {
namespace {

using nlohmann::json;

// Shapes have at most 16 dims and data_offsets 2 entries; refusing longer
// arrays while scanning keeps a hostile header from building a huge DOM.
constexpr size_t kMaxArrayElements = 64;
// root object > tensor entry > shape array: nothing legal goes deeper.
constexpr size_t kMaxOpenContainers = 3;

Error format_error(std::string message) { return make_error(ErrorKind::Format, std::move(message)); }

using format::valid_utf8;

using format::printable;

// Tensor names are kept verbatim ('/' and '.' are common); only what cannot be
// printed or stored is refused here. Region-name rules are the writer's.
std::string tensor_name_problem(std::string_view name) {
  if (name.empty()) return "empty tensor name";
  if (name.size() > format::kMaxNameBytes) return "tensor name longer than 255 bytes";
  if (!valid_utf8(name)) return "tensor name is not valid UTF-8";
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return "tensor name contains a control character";
  }
  return {};
}

// First pass over the header: finds what the DOM would hide (duplicate
// tensor names) and bounds what the DOM pass may allocate.
class HeaderScan final : public JsonScan {
 public:
  HeaderScan() : JsonScan(kMaxArrayElements, kMaxOpenContainers) {}

 private:
  std::string where() const {
    if (frames().empty() || frames()[0].key.empty()) return {};
    if (frames()[0].key == "__metadata__") return "__metadata__: ";
    return "tensor " + printable(frames()[0].key) + ": ";
  }
  std::string duplicate_key(const std::string& k) const override {
    if (frames().size() == 1) return k == "__metadata__" ? "duplicate __metadata__" : "duplicate tensor name " + printable(k);
    return where() + "duplicate key " + printable(k);
  }
  std::string not_json(size_t position) const override {
    return "header is not valid JSON (error at byte " + std::to_string(position) + " of the header)";
  }
  std::string too_many_elements() const override {
    return where() + "array with more than " + std::to_string(kMaxArrayElements) + " elements";
  }
  std::string too_deep() const override { return where() + "nested deeper than the format allows"; }
  std::string refuse_open(bool object) const override {
    return frames().empty() && !object ? "header must be a JSON object, not an array" : "";
  }
};

struct DTypeMapping {
  std::string_view file;
  std::string_view ours;
};
constexpr DTypeMapping kDTypes[] = {
    {"BOOL", "bool"}, {"U8", "u8"},   {"I8", "i8"},   {"F8_E4M3", "f8_e4m3"}, {"F8_E5M2", "f8_e5m2"},
    {"I16", "i16"},   {"U16", "u16"}, {"F16", "f16"}, {"BF16", "bf16"},       {"I32", "i32"},
    {"U32", "u32"},   {"F32", "f32"}, {"I64", "i64"}, {"U64", "u64"},         {"F64", "f64"},
    {"C64", "c64"},
};

// Our dtype name for a file dtype, or "" when it cannot be one. Unlisted names
// (F4, F6_E2M3, F8_E8M0 ...) are kept, lowercased, so newer files still load.
std::string map_dtype(const std::string& file_dtype) {
  for (const auto& d : kDTypes)
    if (d.file == file_dtype) return std::string(d.ours);
  std::string ours;
  for (char c : file_dtype) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    ours += c;
  }
  return dtype_name_valid(ours) ? ours : std::string();
}

Result<std::vector<uint64_t>> unsigned_array(const json& j, const char* what, size_t min_len, size_t max_len) {
  if (!j.is_array()) return format_error(std::string(what) + " must be an array, not " + j.type_name());
  if (j.size() < min_len || j.size() > max_len) {
    if (min_len == max_len)
      return format_error(std::string(what) + " must have " + std::to_string(min_len) + " elements, has " +
                          std::to_string(j.size()));
    return format_error(std::string(what) + " has " + std::to_string(j.size()) + " elements, more than " +
                        std::to_string(max_len));
  }
  std::vector<uint64_t> out;
  out.reserve(j.size());
  for (const auto& e : j) {
    // Signed, floating and string values are refused: "-1", 1.0 and "1" are
    // all ways of smuggling something other than an offset.
    if (!e.is_number_unsigned())
      return format_error(std::string(what) + " must hold non-negative integers, found " +
                          (e.is_number_integer() ? "a negative number"
                           : e.is_number_float() ? "a non-integer or out-of-range number"
                                                 : std::string("a ") + e.type_name()));
    out.push_back(e.get<uint64_t>());
  }
  return out;
}

Result<SafetensorsTensor> parse_tensor(const std::string& name, const json& entry, uint64_t data_offset,
                                       uint64_t data_size) {
  const std::string where = "tensor " + printable(name) + ": ";
  if (auto p = tensor_name_problem(name); !p.empty()) return format_error(where + p);
  if (!entry.is_object()) return format_error(where + "entry must be an object, not " + entry.type_name());
  for (const auto& [k, v] : entry.items())
    if (k != "dtype" && k != "shape" && k != "data_offsets")
      return format_error(where + "unknown key " + printable(k) + " (expected dtype, shape, data_offsets)");
  for (const char* k : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(k)) return format_error(where + "missing \"" + k + "\"");

  SafetensorsTensor t;
  t.name = name;
  const json& dtype = entry["dtype"];
  if (!dtype.is_string()) return format_error(where + "dtype must be a string, not " + dtype.type_name());
  t.original_dtype = dtype.get<std::string>();
  t.dtype = map_dtype(t.original_dtype);
  if (t.dtype.empty())
    return format_error(where + "dtype " + printable(t.original_dtype) + " is not a dtype name (1-32 of [A-Za-z0-9_])");

  auto shape = unsigned_array(entry["shape"], "shape", 0, format::kMaxShapeRank);
  if (!shape) return std::move(shape).error().with_context(where);
  t.shape = std::move(*shape);
  auto offsets = unsigned_array(entry["data_offsets"], "data_offsets", 2, 2);
  if (!offsets) return std::move(offsets).error().with_context(where);
  const uint64_t begin = (*offsets)[0], end = (*offsets)[1];
  if (begin > end)
    return format_error(where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                        "] are reversed");
  if (end > data_size)
    return format_error(where + "data_offsets end " + std::to_string(end) + " is past the data buffer (" +
                        std::to_string(data_size) + " bytes); the file is truncated or corrupt");
  t.size = end - begin;
  t.file_offset = data_offset + begin;  // end <= data_size, so no overflow

  if (const unsigned elem = dtype_size(t.dtype); elem != 0) {
    // A zero dim makes the tensor empty however large the other dims are.
    uint64_t count = 1;
    if (std::find(t.shape.begin(), t.shape.end(), uint64_t{0}) != t.shape.end()) {
      count = 0;
    } else {
      for (uint64_t d : t.shape) {
        auto c = core::checked_mul(count, d);
        if (!c) return format_error(where + "shape element count overflows 64 bits");
        count = *c;
      }
    }
    auto bytes = core::checked_mul(count, elem);
    if (!bytes || *bytes != t.size)
      return format_error(where + "shape and dtype " + t.dtype + " need " +
                          (bytes ? std::to_string(*bytes) : std::string("more than 2^64")) +
                          " bytes but data_offsets span " + std::to_string(t.size));
  }
  return t;
}

Result<SafetensorsFile> read_safetensors_unguarded(const std::string& path) {
  // Regular files only (a FIFO, device or directory is refused without
  // blocking); positional reads; EOF before the end is a Format error.
  VRAMSNAP_ASSIGN_OR_RETURN(auto file, io::InputFile::open(path));
  const uint64_t file_size = file.size();
  if (file_size < 8)
    return format_error(path + ": not a safetensors file: " + std::to_string(file_size) +
                        " bytes, too short for the 8-byte header length");
  uint8_t len_bytes[8];
  VRAMSNAP_TRY(file.read_exact(len_bytes, 0));
  const uint64_t header_size = format::load_u64(len_bytes);
  if (header_size == 0) return format_error(path + ": not a safetensors file: header length is 0");
  if (header_size > kMaxSafetensorsHeader)
    return format_error(path + ": not a safetensors file: header length " + std::to_string(header_size) +
                        " exceeds the " + std::to_string(kMaxSafetensorsHeader >> 20) + " MiB cap");
  if (header_size > file_size - 8)
    return format_error(path + ": not a safetensors file or truncated: header length " +
                        std::to_string(header_size) + " runs past the end of the file (" +
                        std::to_string(file_size) + " bytes)");
  std::string header(static_cast<size_t>(header_size), '\0');
  VRAMSNAP_TRY(file.read_exact({reinterpret_cast<uint8_t*>(header.data()), header.size()}, 8));
  auto parsed = parse_safetensors_header(header, header_size, file_size);
  if (!parsed) return std::move(parsed).error().with_context(path + ": ");
  return parsed;
}

}  // namespace

Result<SafetensorsFile> parse_safetensors_header(std::string_view json_text, uint64_t header_size,
                                                 uint64_t file_size) {
  try {
    if (json_text.size() != header_size)
      return format_error("header is " + std::to_string(json_text.size()) + " bytes, expected " +
                          std::to_string(header_size));
    if (header_size == 0 || header_size > kMaxSafetensorsHeader || header_size > file_size ||
        file_size - header_size < 8)
      return format_error("header length " + std::to_string(header_size) + " does not fit a file of " +
                          std::to_string(file_size) + " bytes");

    HeaderScan scan;
    // Trailing spaces (writers pad to 8-byte alignment) are JSON whitespace.
    if (!json::sax_parse(json_text.begin(), json_text.end(), &scan) || !scan.problem().empty())
      return format_error(scan.problem().empty() ? "header is not valid JSON" : scan.problem());
    const json root = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return format_error("header is not valid JSON");
    if (!root.is_object()) return format_error(std::string("header must be a JSON object, not ") + root.type_name());

    SafetensorsFile file;
    file.header_size = header_size;
    file.data_offset = 8 + header_size;
    const uint64_t data_size = file_size - file.data_offset;
    for (const auto& [name, entry] : root.items()) {
      if (name == "__metadata__") {
        if (entry.is_null()) continue;
        if (!entry.is_object())
          return format_error(std::string("__metadata__ must be an object, not ") + entry.type_name());
        for (const auto& [k, v] : entry.items()) {
          if (!v.is_string())
            return format_error("__metadata__: value of " + printable(k) + " must be a string, not " + v.type_name());
          file.metadata.emplace(k, v.get<std::string>());
        }
        continue;
      }
      VRAMSNAP_ASSIGN_OR_RETURN(auto tensor, parse_tensor(name, entry, file.data_offset, data_size));
      file.tensors.push_back(std::move(tensor));
    }

    std::sort(file.tensors.begin(), file.tensors.end(), [](const auto& a, const auto& b) {
      return a.file_offset != b.file_offset ? a.file_offset < b.file_offset : a.name < b.name;
    });
    // Empty tensors cover no bytes, so they may sit anywhere, even inside
    // another tensor; every other pair must be disjoint.
    const SafetensorsTensor* reach = nullptr;  // non-empty tensor ending furthest so far
    for (const auto& t : file.tensors) {
      if (t.size == 0) continue;
      if (reach && t.file_offset < reach->file_offset + reach->size)
        return format_error("tensors " + printable(reach->name) + " and " + printable(t.name) +
                            " overlap in the data buffer (data_offsets [" +
                            std::to_string(reach->file_offset - file.data_offset) + ", " +
                            std::to_string(reach->file_offset + reach->size - file.data_offset) + ") and [" +
                            std::to_string(t.file_offset - file.data_offset) + ", " +
                            std::to_string(t.file_offset + t.size - file.data_offset) + "))");
      if (!reach || t.file_offset + t.size > reach->file_offset + reach->size) reach = &t;
    }
    return file;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::Limit, "out of memory while parsing the safetensors header");
  } catch (const std::exception& e) {
    // nlohmann may still throw (e.g. out_of_range); never past this boundary.
    return format_error(std::string("safetensors header rejected: ") + e.what());
  }
}

Result<SafetensorsFile> read_safetensors(const std::string& path) {
  try {
    return read_safetensors_unguarded(path);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::Limit, path + ": out of memory while reading the safetensors header");
  } catch (const std::exception& e) {
    return format_error(path + ": " + e.what());
  }
}

}  // namespace vramsnap::source

namespace vramsnap {

using format::printable;
using format::valid_utf8;

Result<std::vector<RegionSource>> safetensors_regions(const std::string& path, const std::string& prefix,
                                                      int32_t device) {
  if (!prefix.empty()) {
    if (!valid_utf8(prefix)) return make_error(ErrorKind::Usage, path + ": prefix is not valid UTF-8");
    for (char ch : prefix)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F)
        return make_error(ErrorKind::Usage, path + ": prefix " + printable(prefix) + " contains a control character");
  }
  VRAMSNAP_ASSIGN_OR_RETURN(auto file, source::read_safetensors(path));
  try {
    std::vector<RegionSource> regions;
    regions.reserve(file.tensors.size());
    for (auto& t : file.tensors) {
      RegionSource r;
      r.meta.name = prefix + t.name;
      if (r.meta.name.size() > format::kMaxNameBytes)
        return make_error(ErrorKind::Usage, path + ": tensor " + printable(t.name) + ": with prefix " + printable(prefix) +
                                                " the region name exceeds 255 bytes; use a shorter prefix");
      r.meta.kind = RegionKind::Device;
      r.meta.size = t.size;
      r.meta.dtype = std::move(t.dtype);
      r.meta.shape = std::move(t.shape);
      r.meta.device = device < 0 ? 0 : device;
      // Tensor names are kept verbatim; a region name must also meet the format's rules.
      // A bad name is the file's fault, whatever rule it breaks: one class (Format).
      if (auto v = validate_region(r.meta); !v.ok())
        return Error(v.error().kind() == ErrorKind::Limit ? ErrorKind::Limit : ErrorKind::Format,
                     path + ": tensor " + printable(t.name) + ": " + v.error().message());
      r.path = path;
      r.offset = t.file_offset;
      regions.push_back(std::move(r));
    }
    return regions;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::Limit, path + ": out of memory listing tensors");
  }
}

}  // namespace vramsnap
