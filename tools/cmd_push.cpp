// vramsnap push SNAP oci://REGISTRY/REPO:TAG [--registry-config F] [--json]
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "remote_args.h"
#include "terminal.h"
#include "text.h"

namespace vramsnap::cli {
namespace {

struct Opts {
  std::string snap, dest;
  bool json = false, quiet = false;
  RemoteFlags remote;
};

int run(const Opts& o) {
  if (o.json) report_failures_as_json(o.snap);
  if (is_remote_location(o.snap))
    return report_error("push", Error(ErrorKind::Usage, "push uploads a local file; " + escaped(o.snap) +
                                                            " is a remote location"));
  auto r = push_snapshot(o.snap, o.dest, o.remote.options);
  if (!r.ok()) return report_error("push", r.error());
  if (o.json) {
    print_json(nlohmann::json{{"ok", true},
                              {"path", o.snap},
                              {"destination", o.dest},
                              {"digest", r->blob_digest},
                              {"manifest_digest", r->manifest_digest},
                              {"index_digest", r->index_digest},
                              {"size", r->size},
                              {"blob_existed", r->blob_existed},
                              {"reference", r->reference}}
                   .dump(2));
  } else {
    fmt::print("pushed {} to {} ({}{})\ndigest {}\nmanifest {}\nindex digest {}\nrestore with: {}\n", escaped(o.snap),
               escaped(o.dest), human_bytes(r->size), r->blob_existed ? ", blob already in the registry" : "",
               r->blob_digest, r->manifest_digest, r->index_digest, r->reference);
  }
  return kExitOk;
}

}  // namespace

Command register_push(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("push", "Upload a snapshot to an OCI registry as an artifact; print its digest");
  sub->add_option("snapshot", o->snap, "Snapshot file")->required()->type_name("SNAP");
  sub->add_option("destination", o->dest, "oci://REGISTRY/REPOSITORY:TAG")->required()->type_name("REF");
  add_remote_options(sub, o->remote, false);
  sub->add_flag("--json", o->json, "Print the result as JSON (formats/push-output.schema.json)");
  sub->add_flag("-q,--quiet", o->quiet, "Accepted as by every command");
  sub->footer("The snapshot becomes one blob of an OCI artifact (artifactType application/vnd.vramsnap.snapshot.v1);\n"
              "a blob the registry already has is not uploaded again; the tag is written last. The digest printed\n"
              "is the file's SHA-256; hosts restore by it or by the manifest digest. The index digest is the layer's\n"
              "org.vramsnap.index.digest annotation, which binds the snapshot to a manifest digest reference.\n"
              "Examples:\n  vramsnap push model.snap oci://registry.example/models/llama:v3\n"
              "  vramsnap push model.snap oci://127.0.0.1:5000/models/llama:ci --json");
  return {sub, [o] { return run(*o); }};
}

}  // namespace vramsnap::cli
