#pragma once
// The options every command that reads a snapshot shares for remote
// locations (http(s) URLs, oci:// references), and opening through them.
#include <string>

#include <CLI/CLI.hpp>

#include "vramsnap/remote.hpp"
#include "vramsnap/snapshot.hpp"

namespace vramsnap::cli {

struct RemoteFlags {
  RemoteOptions options;
  std::string url_file;  // --url-file: the location, kept out of argv
};

// --auth-file, --ca-file, --registry-config, --insecure, --timeout,
// --retries, and (with `url_file`) --url-file.
void add_remote_options(CLI::App* app, RemoteFlags& target, bool url_file = true);

// The location: the SNAP argument, or the first line of --url-file (a
// presigned URL carries a signature, which argv would show to every local
// user). Exactly one of them; usage error otherwise.
Status resolve_location(std::string& snap, const RemoteFlags& flags);

// A path, URL or reference, opened with those options. A registry blob
// hashed whole at open (a digest reference whose manifest names no index
// digest) shows a progress bar, on a terminal and unless `quiet`.
Result<Snapshot> open_snapshot(const std::string& location, const RemoteFlags& flags, bool quiet);

// Help text for the SNAP argument of reading commands.
inline constexpr const char* kSnapLocationHelp =
    "Snapshot: a file, an http(s):// URL (or --url-file), or oci://REGISTRY/REPO:TAG or oci://REGISTRY/REPO@sha256:DIGEST";

}  // namespace vramsnap::cli
