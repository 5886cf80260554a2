#pragma once
// Capture inputs that are documented formats: capture spec files
// (formats/capture-spec.schema.json) and safetensors weights, plus one region's
// bytes taken from a regular file. Each yields RegionSources for
// RegionInput::from_file. Region metadata is checked with the format's own
// rules (validate_region); a command-line grammar over these belongs to the
// program that has the command line.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"
#include "vramsnap/types.hpp"

namespace vramsnap {

struct RegionSource {
  RegionMeta meta;       // meta.size == bytes taken from the file
  std::string path;      // regular file holding the bytes
  uint64_t offset = 0;   // first byte in that file
};

// A region as a user described it, before its file is looked at.
struct RegionFileRequest {
  RegionMeta meta;                 // meta.size and meta.device are ignored
  std::string path;
  std::optional<uint64_t> offset;  // default 0
  std::optional<uint64_t> size;    // default: the rest of the file
  std::optional<int32_t> device;   // default: 0 for a device region, else -1
};

// Checks that the file exists and is regular and that offset/size lie inside
// it, then the format's rules (validate_region). IO errors for the file,
// Usage (or Limit) for the fields. Every message starts with the field at
// fault ("path: ", "size: ", "shape: ", ...) so that the caller can prefix
// where the request came from ("--region 'w': ", "spec.json: regions[2].").
VRAMSNAP_API Result<RegionSource> region_from_file(RegionFileRequest request);

// Each tensor of a safetensors file becomes a device region (dtype, shape,
// device 0 if `device` < 0 else `device`), named prefix + tensor name, in file
// order. The header is distrusted like a snapshot's (bounded, offsets checked,
// overlaps refused): Format errors name the file and the tensor.
VRAMSNAP_API Result<std::vector<RegionSource>> safetensors_regions(const std::string& path,
                                                                   const std::string& prefix = "",
                                                                   int32_t device = -1);

// A directory image (a CRIU dump, a cuda-checkpoint image): every regular
// file below `dir` becomes a region of kind `other` named by its path
// relative to `dir` ('/'-separated), in byte order of those paths, with its
// permission bits in the region label "mode" (octal, e.g. "0600"); extract_tree
// recreates the tree. Directories are implied by the paths (empty ones are
// not recorded). Symlinks (even ones that stay inside the tree), devices,
// sockets and FIFOs are refused with an IO error naming the entry; so is a
// path that is not a valid region name (Usage).
VRAMSNAP_API Result<std::vector<RegionSource>> regions_from_tree(const std::string& dir);

// A capture spec file (formats/capture-spec.schema.json). Anything unexpected
// (unknown or duplicate key, wrong type) is a Usage error naming the file and
// the JSON path. Relative paths resolve against the spec file's directory.
struct CaptureSpec {
  std::vector<RegionSource> regions;  // regions and safetensors, in spec order
  std::map<std::string, std::string> labels;
  std::optional<uint64_t> generation;
  std::optional<uint64_t> chunk_size;
  std::optional<std::string> codec;
  std::optional<int> level;
};
VRAMSNAP_API Result<CaptureSpec> read_capture_spec(const std::string& path);

// Sizes as spec files write them: "1048576", "0x100000", "64k", "4MiB", "1G"
// (binary multiples; "KB"/"MB" are refused rather than guessed at).
VRAMSNAP_API std::optional<uint64_t> parse_size(const std::string& text);

}  // namespace vramsnap
