#pragma once
// --target host|cuda|cuda:N for restore and bench. User text never reaches
// std::stoi (which throws on overflow): from_chars with a range check, so a
// bad ordinal is a usage error like any other bad flag value.
#include <climits>
#include <string>

#include "vramsnap/error.hpp"
#include "vramsnap/restore.hpp"

namespace vramsnap::cli {

inline constexpr unsigned long long kMaxDeviceOrdinal = INT_MAX;

struct TargetArg {
  Target target = Target::Host;
  int device = 0;
};

// "host", "cuda" (device 0) or "cuda:N" with N a decimal ordinal that fits
// an int; anything else is a Usage error naming --target. Whether device N
// exists is the library's question (Compat when it does not).
Result<TargetArg> parse_target_arg(const std::string& text);

// --verify-on auto|host|device (restore and bench); Usage error otherwise.
Result<VerifyOn> parse_verify_on(const std::string& text);

}  // namespace vramsnap::cli
