// Printable strings and the RFC 3339 time stamp (vramsnap/text.hpp).
#include "vramsnap/text.hpp"

#include <algorithm>
#include <ctime>

#include "format/names.h"

namespace vramsnap {
namespace {

// The first n bytes of s, escaped as \xNN where they could steer a terminal.
std::string escape_bytes(std::string_view s, size_t n, bool escape_quote) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool utf8 = format::valid_utf8(s);
  std::string out;
  auto escape = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (utf8 && c == 0xC2 && i + 1 < n && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      escape(c);  // U+0080..U+009F: C1 controls (0x9B is a CSI on some terminals)
      escape(static_cast<unsigned char>(s[++i]));
    } else if (c < 0x20 || c == 0x7F || (escape_quote && c == '\'') || c == '\\' || (c >= 0x80 && !utf8)) {
      escape(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string quoted(std::string_view s) {
  const bool utf8 = format::valid_utf8(s);
  size_t n = std::min<size_t>(s.size(), 96);
  while (utf8 && n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string out = "'" + escape_bytes(s, n, true);
  if (n < s.size()) out += "...";
  out += '\'';
  return out;
}

std::string escaped(std::string_view s) { return escape_bytes(s, s.size(), false); }

std::string utc_now_rfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace vramsnap
