#pragma once
// WWW-Authenticate challenges (RFC 9110 11.6.1) as registries send them:
// `Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"`.
// Pure parsing of an untrusted header, bounded, unit-tested.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vramsnap::remote {

struct Challenge {
  std::string scheme;                        // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lowercased
};

// The first challenge of a header value; nullopt when it is malformed or
// over 4 KiB.
std::optional<Challenge> parse_challenge(std::string_view header);

}  // namespace vramsnap::remote
