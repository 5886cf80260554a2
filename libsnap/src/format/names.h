#pragma once
// Region names and the file names `restore --extract` derives from them.
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vramsnap/text.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::format {

// A region name is 1..255 bytes of valid UTF-8 without control characters or
// backslashes. '/' is allowed as a separator (tensor names exported by
// TensorFlow and JAX use it), but not leading, trailing or doubled, and no
// segment may be "." or "..". Returns an empty string when valid, else why not.
std::string region_name_problem(std::string_view name);

// File name for a region under an --extract directory: bytes outside
// [A-Za-z0-9._+-] and a leading '.' are percent-encoded, so the result never
// holds '/', is never "." or "..", and distinct names give distinct files.
// Names whose encoding exceeds 200 bytes are cut and suffixed with
// "~<16 hex digits of SHA-256(name)>".
std::string extract_file_name(std::string_view name);

bool valid_utf8(std::string_view s);

// The index of the first region whose name an earlier region already has.
std::optional<size_t> first_repeated_name(std::span<const RegionMeta> regions);

// A value from a file, quoted for an error message (vramsnap::quoted:
// control characters, quotes and backslashes escaped, cut at 96 bytes).
inline std::string printable(std::string_view s) { return quoted(s); }

}  // namespace vramsnap::format
