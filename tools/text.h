#pragma once
// Small text formatting the tool prints with: user or file strings quoted for
// messages (the library's own quoting, so messages and output agree), errno
// messages, bytes as hex, the current time.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vramsnap/error.hpp"
#include "vramsnap/text.hpp"

namespace vramsnap::cli {

using vramsnap::escaped;
using vramsnap::quoted;
using vramsnap::utc_now_rfc3339;

// "1 region", "2 regions".
std::string plural(uint64_t n, std::string_view word);

// Lower-case hex, two digits per byte.
std::string to_hex(std::span<const uint8_t> bytes);

// "<path>: <what>: <strerror text>" as an error of `kind` (thread-safe:
// std::generic_category, not std::strerror).
Error errno_error(ErrorKind kind, const std::string& path, const char* what, int err);

}  // namespace vramsnap::cli
