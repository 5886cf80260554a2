#pragma once
// Where a remote snapshot lives: http(s) URLs and oci:// references, parsed
// strictly (pure functions, unit-tested) before anything is sent anywhere.
// URLs may carry secrets (a presigned URL's signature sits in its query), so
// messages use redacted() and never the URL as given.
#include <cstdint>
#include <string>
#include <string_view>

#include "vramsnap/error.hpp"

namespace vramsnap::remote {

enum class LocationKind { File, Http, Oci };

// "http://" or "https://" -> Http, "oci://" -> Oci, anything else a path.
LocationKind location_kind(std::string_view location);

struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  uint16_t port = 0;   // explicit or the scheme's default
  std::string target;  // path and query, starting with '/'
  std::string text;    // the URL as given (may hold a secret: never printed)
};

// http(s)://host[:port][/path][?query]. User info in the URL is refused
// (credentials belong in files), as are fragments, spaces and control bytes.
Result<HttpUrl> parse_http_url(std::string_view url);

// The URL without user info, query or fragment: what messages show.
std::string redacted(std::string_view url);

// localhost, 127.0.0.0/8, ::1.
bool is_loopback_host(std::string_view host);

struct OciRef {
  std::string registry;    // host[:port]
  std::string host;        // registry without the port
  std::string repository;  // "team/model"
  std::string tag;         // empty when referenced by digest only
  std::string digest;      // "sha256:<64 hex>" or empty
  // "registry/repository:tag" or "registry/repository@digest".
  std::string text() const;
};

// oci://REGISTRY/REPO[:TAG] or oci://REGISTRY/REPO[:TAG]@sha256:HEX. A
// reference with neither tag nor digest means the tag "latest".
Result<OciRef> parse_oci_ref(std::string_view ref);

// "sha256:" followed by 64 lowercase hex digits.
bool is_sha256_digest(std::string_view s);

}  // namespace vramsnap::remote
