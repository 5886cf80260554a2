#pragma once
// Capture sources: where the bytes of each region come from (--region,
// --safetensors, --spec). Parsed here, consumed by the snapshot writer.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::source {

struct RegionSource {
  RegionMeta meta;       // meta.size == size
  std::string path;      // regular file holding the bytes
  uint64_t offset = 0;   // first byte in that file
};

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

// Each tensor becomes a device region (kind=device, dtype, shape, device 0 if
// `device` < 0 else device), name = prefix + tensor name.
Result<std::vector<RegionSource>> safetensors_regions(const std::string& path,
                                                      const std::string& prefix = "",
                                                      int32_t device = -1);

// ---- --region NAME=PATH[,kind=..][,dtype=..][,shape=AxB][,va=0x..][,device=N][,flags=read_mostly+warm]
Result<RegionSource> parse_region_arg(const std::string& arg);

// ---- --spec FILE.json (formats/capture-spec.schema.json) -----------------------
struct CaptureSpec {
  std::vector<RegionSource> regions;  // regions and safetensors, in spec order
  std::map<std::string, std::string> labels;
  std::optional<uint64_t> generation;
  std::optional<uint64_t> chunk_size;
  std::optional<std::string> codec;
  std::optional<int> level;
};
// Relative paths resolve against the spec file's directory.
Result<CaptureSpec> read_capture_spec(const std::string& path);

// Sizes like "4MiB", "64k", "1G", "1048576" (binary multiples).
std::optional<uint64_t> parse_size(const std::string& text);

}  // namespace vramsnap::source
