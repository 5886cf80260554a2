#pragma once
// The manifest in one pass of the JSON parser's events: the top-level
// members, a few and small, become a JSON tree that parse_manifest checks;
// each element of "regions" goes straight into a RegionMeta
// (manifest_region.h), so a manifest of 60,000 regions never builds 60,000
// JSON objects.
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::format {

// The last top-level "regions" array, as a JSON tree holding it would read.
struct RegionsRead {
  size_t count = 0;                 // its elements
  std::vector<RegionMeta> regions;  // converted, up to the first failure and at most kMaxRegionCount
  std::optional<Error> first_error;
};

// Parses text (its depth and NUL bytes already checked) into top (the tree
// without the regions' elements: "regions" is an empty array there) and
// regions. `use_defaults`: the file sets required bit 2, so the last
// top-level region_defaults fills in what a region omits, wherever it stands
// in the text. `expect_regions` (the trailer's count, untrusted) only sizes
// the result ahead, bounded by what the text can hold. False when the text
// is not valid JSON.
bool read_manifest(std::string_view text, bool use_defaults, size_t expect_regions, nlohmann::json& top,
                   RegionsRead& regions);

}  // namespace vramsnap::format
