#pragma once
// Where remote credentials come from: a bearer token file (--auth-file or
// $VRAMSNAP_AUTH_FILE) and registry logins in a docker config.json. Both
// are judged like key files (ours, not readable by others, no symlink) and
// their contents never appear in a message.
#include <memory>
#include <optional>
#include <string>

#include "remote/http.h"
#include "vramsnap/remote.hpp"

namespace vramsnap::remote {

// The bearer token named by options.auth_file or $VRAMSNAP_AUTH_FILE;
// nullptr when neither is set.
Result<std::shared_ptr<const Auth>> load_bearer(const RemoteOptions& options);

// The login for `registry` (host[:port]) in the docker config.json named by
// options.registry_config, else $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json; nullopt when there is none. Only the "auth"
// (base64 user:password) and "username"/"password" forms are read;
// credential helpers are not run.
Result<std::optional<Auth>> load_registry_login(const RemoteOptions& options, const std::string& registry);

}  // namespace vramsnap::remote
