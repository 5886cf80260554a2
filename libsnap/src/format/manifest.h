#pragma once
// The manifest: UTF-8 JSON describing the snapshot and its regions
// (formats/manifest.schema.json). Parsed strictly: known fields must have the
// right types and ranges; unknown fields are ignored so that minor versions
// can add optional ones.
#include <string>
#include <string_view>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/snapshot.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::format {

struct Manifest {
  SnapshotMeta meta;  // id/id_hex, created, tool, generation, labels, source, chunk_size
  std::vector<RegionMeta> regions;
};

// With `region_defaults` (files with required bit 2 only, section 7.2) the
// most common kind, dtype and device are written once and regions omit them.
std::string encode_manifest(const SnapshotMeta& meta, const std::vector<RegionMeta>& regions,
                            bool region_defaults = false);
// `region_defaults`: the file sets required bit 2, so the top-level member of
// that name supplies the kind, dtype and device a region object omits.
// `expect_regions` (the trailer's count) only sizes the result ahead; it is
// bounded by what the text can hold and never trusted.
Result<Manifest> parse_manifest(std::string_view json, bool region_defaults = false, size_t expect_regions = 0);

// One region's metadata: the public vramsnap::validate_region (types.hpp),
// used by the writer before capture and by the manifest parser.
using ::vramsnap::validate_region;
Status validate_labels(const std::map<std::string, std::string>& labels, const std::string& where);

// Maximum nesting depth accepted in any JSON we parse from a file.
inline constexpr int kMaxJsonDepth = 32;
// True when brackets nest no deeper than max_depth (strings skipped).
bool json_depth_ok(std::string_view json, int max_depth = kMaxJsonDepth);

}  // namespace vramsnap::format
