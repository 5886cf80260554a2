#pragma once
// The safetensors header parser behind safetensors_regions (reached directly
// by the unit and fuzz tests); the public capture inputs are in
// vramsnap/sources.hpp.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/sources.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::source {

using ::vramsnap::CaptureSpec;
using ::vramsnap::parse_size;
using ::vramsnap::read_capture_spec;
using ::vramsnap::region_from_file;
using ::vramsnap::RegionFileRequest;
using ::vramsnap::RegionSource;
using ::vramsnap::safetensors_regions;

// ---- safetensors -------------------------------------------------------------
// Layout: u64 LE header length N, N bytes of JSON, then the data buffer.
// Distrusted like our own format: N capped (kMaxSafetensorsHeader) and checked
// against the file size; every tensor's data_offsets [begin,end) checked to be
// ordered, inside the data buffer, and of size prod(shape) * dtype size (for
// dtypes of known size; sub-byte dtypes such as F4 skip that check); overlaps
// refused; "__metadata__" (string->string) kept. Tensors come out in file order
// (ascending begin offset), ties broken by name.
inline constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;  // 100 MiB

struct SafetensorsTensor {
  std::string name;             // as in the file
  std::string dtype;            // our name: "bf16", "f32", ... (lowercased)
  std::string original_dtype;   // as in the file: "BF16"
  std::vector<uint64_t> shape;
  uint64_t file_offset = 0;     // absolute offset in the file
  uint64_t size = 0;
};

struct SafetensorsFile {
  uint64_t header_size = 0;
  uint64_t data_offset = 0;     // 8 + header_size
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Parses from the header bytes (the JSON, without the 8-byte length prefix).
Result<SafetensorsFile> parse_safetensors_header(std::string_view json, uint64_t header_size,
                                                 uint64_t file_size);
// Opens the file, reads the bounded header and parses it. Errors name the
// file and, where it applies, the tensor.
Result<SafetensorsFile> read_safetensors(const std::string& path);

}  // namespace vramsnap::source
