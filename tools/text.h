#pragma once
// Small text formatting the tool prints with: user or file strings quoted for
// messages, errno messages, bytes as hex, the current time. Printing is the tool's job, so
// these live here rather than in the library's API.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vramsnap/error.hpp"

namespace vramsnap::cli {

// 's' in single quotes: control characters (C0, DEL, C1), quotes, backslashes
// and invalid UTF-8 escaped as \xNN, cut at 96 bytes with "...", so a name
// cannot steer the terminal.
std::string quoted(std::string_view s);

// 's' for human output, unquoted and uncut: control characters (C0, DEL,
// C1), backslashes and invalid UTF-8 escaped as \xNN, so a string from a
// file can neither forge a line nor steer the terminal.
std::string escaped(std::string_view s);

// "1 region", "2 regions".
std::string plural(uint64_t n, std::string_view word);

// Lower-case hex, two digits per byte.
std::string to_hex(std::span<const uint8_t> bytes);

// "<path>: <what>: <strerror text>" as an error of `kind` (thread-safe:
// std::generic_category, not std::strerror).
Error errno_error(ErrorKind kind, const std::string& path, const char* what, int err);

// Now in UTC as RFC 3339, whole seconds: "2026-11-24T05:50:26Z".
std::string utc_now_rfc3339();

}  // namespace vramsnap::cli
