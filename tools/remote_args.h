#pragma once
// The options every command that reads a snapshot shares for remote
// locations (http(s) URLs, oci:// references), and opening through them.
#include <string>

#include <CLI/CLI.hpp>

#include "vramsnap/remote.hpp"
#include "vramsnap/snapshot.hpp"

namespace vramsnap::cli {

// --auth-file, --ca-file, --registry-config, --insecure, --timeout, --retries.
void add_remote_options(CLI::App* app, RemoteOptions& target);

// A path, URL or reference, opened with those options.
Result<Snapshot> open_snapshot(const std::string& location, const RemoteOptions& options);

// Help text for the SNAP argument of reading commands.
inline constexpr const char* kSnapLocationHelp =
    "Snapshot: a file, an http(s):// URL, or oci://REGISTRY/REPO:TAG or oci://REGISTRY/REPO@sha256:DIGEST";

}  // namespace vramsnap::cli
