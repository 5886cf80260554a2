// Remote-source flags. Credentials are named by files only: a token, a
// password or a presigned URL's signature never appears on the command line.
#include "remote_args.h"

#include <fstream>

#include "terminal.h"

namespace vramsnap::cli {

void add_remote_options(CLI::App* app, RemoteFlags& f, bool url_file) {
  const char* group = "Remote sources (http(s):// and oci://)";
  RemoteOptions& o = f.options;
  if (url_file)
    app->add_option("--url-file", f.url_file,
                    "Read the snapshot's location from the first line of FILE instead of SNAP (for presigned URLs, "
                    "whose signature argv would show)")
        ->type_name("FILE")->group(group);
  app->add_option("--auth-file", o.auth_file,
                  "File holding a bearer token sent to the snapshot's host (never to a host a redirect leads to); "
                  "default for http(s) URLs $VRAMSNAP_AUTH_FILE")
      ->type_name("FILE")->group(group);
  app->add_option("--ca-file", o.ca_file, "Extra CA certificates (PEM) trusted besides the system store")
      ->type_name("FILE")->group(group);
  app->add_option("--registry-config", o.registry_config,
                  "docker config.json with registry logins (default $DOCKER_CONFIG/config.json, ~/.docker/config.json)")
      ->type_name("FILE")->group(group);
  app->add_flag("--insecure", o.insecure, "Allow plain HTTP to hosts other than loopback (TLS is never weakened)")
      ->group(group);
  app->add_option("--timeout", o.timeout_s, "Seconds to connect, and that a transfer may stall, before a retry (default 30)")
      ->type_name("SEC")->check(CLI::Range(1u, 3600u))->group(group);
  app->add_option("--retries", o.retries, "Tries per request without progress, the first included (default 5)")
      ->type_name("N")->check(CLI::Range(1u, 100u))->group(group);
}

Status resolve_location(std::string& snap, const RemoteFlags& f) {
  if (f.url_file.empty()) {
    if (snap.empty()) return Error(ErrorKind::Usage, "a snapshot is required (SNAP or --url-file)");
    return {};
  }
  if (!snap.empty()) return Error(ErrorKind::Usage, "give the snapshot as SNAP or with --url-file, not both");
  std::ifstream in(f.url_file);
  if (!in) return Error(ErrorKind::IO, f.url_file + ": cannot read the --url-file");
  std::string line;
  line.resize(8193);
  in.read(line.data(), static_cast<std::streamsize>(line.size()));
  line.resize(static_cast<size_t>(in.gcount()));
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty() || line.size() > 8192)
    return Error(ErrorKind::Usage, f.url_file + ": expected one location of at most 8192 bytes on its first line");
  snap = line;
  return {};
}

Result<Snapshot> open_snapshot(const std::string& location, const RemoteFlags& f, bool quiet) {
  ProgressBar bar("digest check", quiet);
  RemoteOptions options = f.options;
  options.progress = bar.callback();
  VRAMSNAP_ASSIGN_OR_RETURN(auto src, open_source(location, options));
  bar.finish();
  return Snapshot::open(std::move(src));
}

}  // namespace vramsnap::cli
