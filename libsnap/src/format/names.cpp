#include "format/names.h"

#include <fmt/format.h>

#include "crypto/digest.h"
#include "format/layout.h"

namespace vramsnap::format {

// One open-addressing table (load at most 1/2) of hash and index: a manifest
// of 60,000 regions costs one allocation, not a node per name, and names are
// compared only when their hashes agree.
std::optional<size_t> first_repeated_name(std::span<const RegionMeta> regions) {
  struct Slot {
    size_t hash = 0;
    size_t index = SIZE_MAX;  // SIZE_MAX: empty
  };
  size_t cap = 16;
  while (cap / 2 < regions.size()) cap <<= 1;
  std::vector<Slot> slots(cap);
  const std::hash<std::string_view> hash;
  for (size_t i = 0; i < regions.size(); ++i) {
    const std::string& name = regions[i].name;
    const size_t h = hash(name);
    size_t at = h & (cap - 1);
    for (; slots[at].index != SIZE_MAX; at = (at + 1) & (cap - 1))
      if (slots[at].hash == h && regions[slots[at].index].name == name) return i;
    slots[at] = {h, i};
  }
  return std::nullopt;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong encodings, surrogates and out-of-range code points.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

std::string region_name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameBytes) return fmt::format("is {} bytes long (at most {})", name.size(), kMaxNameBytes);
  if (!valid_utf8(name)) return "is not valid UTF-8";
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return "contains a control character";
    if (c == '\\') return "contains a backslash";
  }
  if (name.front() == '/' || name.back() == '/') return "starts or ends with '/'";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    auto seg = name.substr(start, end - start);
    if (seg.empty()) return "contains an empty path segment ('//')";
    if (seg == "." || seg == "..") return "contains a '.' or '..' segment";
    start = end + 1;
  }
  return {};
}

std::string extract_file_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '+' || (c == '.' && i != 0);
    if (plain) out.push_back(static_cast<char>(c));
    else out += fmt::format("%{:02X}", c);
  }
  constexpr size_t kMaxFileName = 200;
  if (out.size() > kMaxFileName) {
    auto d = crypto::sha256({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
    out.resize(kMaxFileName - 17);
    // Never cut inside a %XX escape.
    auto pct = out.rfind('%');
    if (pct != std::string::npos && pct + 3 > out.size()) out.resize(pct);
    out += "~" + crypto::to_hex({d.data(), 8});
  }
  return out;
}

}  // namespace vramsnap::format
