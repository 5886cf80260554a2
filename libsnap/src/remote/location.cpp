// Parsing of http(s) URLs and OCI references (the distribution spec's
// grammar for repository names, tags and digests), with the limits that keep
// a hostile reference from reaching curl or a registry in odd shapes.
#include "remote/location.h"

#include <fmt/format.h>

namespace vramsnap::remote {
namespace {

constexpr size_t kMaxUrl = 8192;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

bool clean_text(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  return true;
}

// host: DNS name or IPv4 (letters, digits, '.', '-'), or [IPv6].
bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h)
    if (!is_alnum(c) && c != '.' && c != '-' && c != ':') return false;
  return h.front() != '-' && h.front() != '.';
}

// Splits "host[:port]" or "[v6][:port]"; port 0 when absent.
Status split_authority(std::string_view auth, std::string& host, uint16_t& port, std::string_view what) {
  std::string_view port_text;
  if (!auth.empty() && auth.front() == '[') {
    const auto close = auth.find(']');
    if (close == std::string_view::npos) return Error(ErrorKind::Usage, fmt::format("{}: unterminated IPv6 address", what));
    host = std::string(auth.substr(1, close - 1));
    const auto rest = auth.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Error(ErrorKind::Usage, fmt::format("{}: bad host", what));
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = auth.rfind(':');
    host = std::string(auth.substr(0, colon));
    if (colon != std::string_view::npos) port_text = auth.substr(colon + 1);
    if (host.find(':') != std::string::npos) return Error(ErrorKind::Usage, fmt::format("{}: bad host", what));
  }
  if (!valid_host(host)) return Error(ErrorKind::Usage, fmt::format("{}: bad host name", what));
  port = 0;
  if (auth.find(']') == std::string_view::npos && auth.find(':') == std::string_view::npos) return {};
  if (port_text.empty() || port_text.size() > 5) return Error(ErrorKind::Usage, fmt::format("{}: bad port", what));
  uint32_t p = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return Error(ErrorKind::Usage, fmt::format("{}: bad port", what));
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p == 0 || p > 65535) return Error(ErrorKind::Usage, fmt::format("{}: port out of range", what));
  port = static_cast<uint16_t>(p);
  return {};
}

// path-component: [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    if (is_lower_alnum(c[i])) continue;
    if (c[i] == '.' || c[i] == '-') {
      if (c[i] == '.' && !is_lower_alnum(c[i + 1])) return false;
      continue;
    }
    if (c[i] == '_') {
      if (c[i + 1] == '_' && is_lower_alnum(c[i + 2])) { ++i; continue; }
      if (!is_lower_alnum(c[i + 1])) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool valid_repository(std::string_view r) {
  if (r.empty() || r.size() > 255) return false;
  size_t start = 0;
  while (true) {
    const auto slash = r.find('/', start);
    if (!valid_component(r.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start)))
      return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
  for (char c : t)
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

}  // namespace

LocationKind location_kind(std::string_view s) {
  if (s.starts_with("http://") || s.starts_with("https://")) return LocationKind::Http;
  if (s.starts_with("oci://")) return LocationKind::Oci;
  return LocationKind::File;
}

Result<HttpUrl> parse_http_url(std::string_view url) {
  HttpUrl u;
  const std::string shown = redacted(url);
  const std::string what = "URL " + shown;
  if (url.size() > kMaxUrl) return Error(ErrorKind::Usage, what + ": longer than 8192 bytes");
  if (!clean_text(url)) return Error(ErrorKind::Usage, what + ": spaces or control characters");
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return Error(ErrorKind::Usage, what + ": not an http(s) URL");
  u.scheme = std::string(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") return Error(ErrorKind::Usage, what + ": scheme must be http or https");
  const auto rest = url.substr(sep + 3);
  const auto path_at = rest.find_first_of("/?#");
  const auto authority = rest.substr(0, path_at);
  if (authority.find('@') != std::string_view::npos)
    return Error(ErrorKind::Usage, what + ": credentials in a URL are refused (use --auth-file)");
  if (url.find('#') != std::string_view::npos) return Error(ErrorKind::Usage, what + ": a fragment is not allowed");
  VRAMSNAP_TRY(split_authority(authority, u.host, u.port, what));
  if (u.port == 0) u.port = u.scheme == "https" ? 443 : 80;
  u.target = path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
  if (u.target.front() == '?') u.target = "/" + u.target;
  u.text = std::string(url);
  return u;
}

std::string redacted(std::string_view url) {
  std::string_view s = url.substr(0, std::min(url.size(), kMaxUrl));
  const auto cut = s.find_first_of("?#");
  std::string_view head = s.substr(0, cut);
  std::string out;
  const auto sep = head.find("://");
  if (sep != std::string_view::npos) {
    const auto auth_end = head.find('/', sep + 3);
    const auto at = head.substr(0, auth_end).rfind('@');
    if (at != std::string_view::npos && at > sep) {
      out = std::string(head.substr(0, sep + 3)) + std::string(head.substr(at + 1));
    }
  }
  if (out.empty()) out = std::string(head);
  if (cut != std::string_view::npos) out += "?...";
  std::string safe;
  for (char c : out) safe += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return safe;
}

bool is_loopback_host(std::string_view h) {
  if (h == "localhost" || h == "::1" || h == "[::1]") return true;
  if (!h.starts_with("127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

bool is_sha256_digest(std::string_view s) {
  if (s.size() != 71 || !s.starts_with("sha256:")) return false;
  for (char c : s.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string OciRef::text() const {
  return registry + "/" + repository + (digest.empty() ? ":" + tag : "@" + digest);
}

Result<OciRef> parse_oci_ref(std::string_view ref) {
  const std::string what = "reference " + redacted(ref);
  if (ref.size() > 1024) return Error(ErrorKind::Usage, what + ": longer than 1024 bytes");
  if (!ref.starts_with("oci://")) return Error(ErrorKind::Usage, what + ": not an oci:// reference");
  if (!clean_text(ref)) return Error(ErrorKind::Usage, what + ": spaces or control characters");
  std::string_view rest = ref.substr(6);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0)
    return Error(ErrorKind::Usage, what + ": expected oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST");
  OciRef r;
  r.registry = std::string(rest.substr(0, slash));
  if (r.registry.find('@') != std::string::npos)
    return Error(ErrorKind::Usage, what + ": credentials in a reference are refused (use --registry-config)");
  uint16_t port = 0;
  VRAMSNAP_TRY(split_authority(r.registry, r.host, port, what));
  std::string_view name = rest.substr(slash + 1);
  if (const auto at = name.find('@'); at != std::string_view::npos) {
    r.digest = std::string(name.substr(at + 1));
    if (!is_sha256_digest(r.digest)) return Error(ErrorKind::Usage, what + ": digest must be sha256: and 64 lowercase hex digits");
    name = name.substr(0, at);
  }
  const auto colon = name.rfind(':');
  if (colon != std::string_view::npos && name.find('/', colon) == std::string_view::npos) {
    r.tag = std::string(name.substr(colon + 1));
    if (!valid_tag(r.tag)) return Error(ErrorKind::Usage, what + ": bad tag (letters, digits, '_', '.', '-'; at most 128)");
    name = name.substr(0, colon);
  }
  if (!valid_repository(name))
    return Error(ErrorKind::Usage, what + ": bad repository name (lowercase letters, digits, separators '.', '_', '__', '-', '/')");
  r.repository = std::string(name);
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

}  // namespace vramsnap::remote
