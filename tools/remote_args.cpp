// Remote-source flags. Credentials are named by files only: a token or a
// password never appears on the command line.
#include "remote_args.h"

namespace vramsnap::cli {

void add_remote_options(CLI::App* app, RemoteOptions& o) {
  const char* group = "Remote sources (http(s):// and oci://)";
  app->add_option("--auth-file", o.auth_file,
                  "File holding a bearer token sent to the snapshot's host (never to a host a redirect leads to); "
                  "default $VRAMSNAP_AUTH_FILE")
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

Result<Snapshot> open_snapshot(const std::string& location, const RemoteOptions& options) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto src, open_source(location, options));
  return Snapshot::open(std::move(src));
}

}  // namespace vramsnap::cli
