#pragma once
// Wall-clock time as text.
#include <ctime>
#include <string>

namespace vramsnap::core {

// Now in UTC as RFC 3339, whole seconds: "2026-11-24T05:50:26Z".
inline std::string utc_now_rfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace vramsnap::core
