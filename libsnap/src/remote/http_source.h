#pragma once
// A Source over one object on an HTTP(S) server: a presigned object-store
// URL, a plain web server, or a registry blob (remote/oci_source.cpp).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "remote/http.h"
#include "vramsnap/source.hpp"

namespace vramsnap::remote {

struct HttpObject {
  std::string url;                    // as given (may hold a presigned signature)
  std::string name;                   // what messages call it (redacted URL, oci:// reference)
  std::shared_ptr<const Auth> auth;   // may be null
  Transport transport;
  std::string digest;                 // "sha256:..." when known (registry blobs): the identity
  std::optional<uint64_t> expected_size;
  // New credentials after a 401 (registry tokens expire, restores can
  // outlast them); tried once per read. Thread-safe. Empty: a 401 is final.
  std::function<Result<std::shared_ptr<const Auth>>()> reauthenticate;
};

// Learns size and identity with one ranged GET of the first byte; refuses a
// server that ignores Range (a 200 to a range request) before reading its
// body, so no whole-object download happens, once or per chunk.
Result<std::shared_ptr<const Source>> open_http_source(HttpObject object);

// "bytes FIRST-LAST/TOTAL" (or "bytes */TOTAL"), with every number checked.
struct ContentRange {
  std::optional<uint64_t> first, last;
  uint64_t total = 0;
};
std::optional<ContentRange> parse_content_range(std::string_view v);

}  // namespace vramsnap::remote
