// WWW-Authenticate parsing: auth-scheme, then comma-separated auth-params
// whose values are tokens or quoted strings with backslash escapes.
#include "remote/challenge.h"

#include <cctype>

namespace vramsnap::remote {
namespace {

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void skip_ws(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

}  // namespace

std::optional<Challenge> parse_challenge(std::string_view h) {
  if (h.size() > 4096) return std::nullopt;
  size_t i = 0;
  skip_ws(h, i);
  const size_t s0 = i;
  while (i < h.size() && is_tchar(h[i])) ++i;
  if (i == s0) return std::nullopt;
  Challenge c;
  c.scheme = lower(h.substr(s0, i - s0));
  while (true) {
    skip_ws(h, i);
    while (i < h.size() && h[i] == ',') { ++i; skip_ws(h, i); }
    if (i >= h.size()) return c;
    const size_t n0 = i;
    while (i < h.size() && is_tchar(h[i])) ++i;
    if (i == n0) return std::nullopt;
    const std::string name = lower(h.substr(n0, i - n0));
    skip_ws(h, i);
    // A second challenge starts with a scheme followed by a space: stop there.
    if (i >= h.size() || h[i] != '=') return c.params.empty() ? std::nullopt : std::optional<Challenge>(c);
    ++i;
    skip_ws(h, i);
    std::string value;
    if (i < h.size() && h[i] == '"') {
      ++i;
      bool closed = false;
      while (i < h.size()) {
        char ch = h[i++];
        if (ch == '\\') {
          if (i >= h.size()) return std::nullopt;
          ch = h[i++];
        } else if (ch == '"') {
          closed = true;
          break;
        }
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return std::nullopt;
        value += ch;
      }
      if (!closed) return std::nullopt;
    } else {
      const size_t v0 = i;
      while (i < h.size() && (is_tchar(h[i]) || h[i] == '/' || h[i] == ':' || h[i] == '=')) ++i;
      value = std::string(h.substr(v0, i - v0));
    }
    if (c.params.count(name)) return std::nullopt;  // duplicated parameter: ambiguous
    c.params.emplace(name, std::move(value));
    skip_ws(h, i);
    if (i < h.size() && h[i] != ',') return std::nullopt;
  }
}

}  // namespace vramsnap::remote
