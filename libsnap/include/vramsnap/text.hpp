#pragma once
// Strings from snapshot files and users, made safe to print, and the time
// stamp snapshots carry. The library quotes names this way in its error
// messages; the tool prints the same way, so output and messages agree.
#include <string>
#include <string_view>

#include "vramsnap/export.h"

namespace vramsnap {

// 's' in single quotes: control characters (C0, DEL, C1), quotes, backslashes
// and invalid UTF-8 escaped as \xNN, cut at 96 bytes (never inside a UTF-8
// sequence) with "...", so a name cannot steer the terminal.
VRAMSNAP_API std::string quoted(std::string_view s);

// 's' unquoted and uncut: control characters (C0, DEL, C1), backslashes and
// invalid UTF-8 escaped as \xNN, so a string from a file can neither forge a
// line nor steer the terminal.
VRAMSNAP_API std::string escaped(std::string_view s);

// Now in UTC as RFC 3339, whole seconds: "2026-11-24T05:50:26Z".
VRAMSNAP_API std::string utc_now_rfc3339();

}  // namespace vramsnap
