// vramsnap seal SNAP --key-file K
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "keys.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::cli {

Command register_seal(CLI::App& app) {
  struct Opts { std::string snap, key_file; bool json = false, quiet = false; };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("seal", "Seal (or re-seal) a snapshot with an HMAC-SHA256 key or sign it with an "
                                         "Ed25519 private key");
  sub->add_option("snapshot", o->snap, "Snapshot file")->required()->type_name("SNAP");
  add_key_option(sub, o->key_file);
  sub->add_flag("--json", o->json, "Print the result as JSON");
  sub->add_flag("-q,--quiet", o->quiet, "Accepted as by every command (seal shows no progress)");
  sub->footer("Only the 128-byte seal block is rewritten, so sealing takes milliseconds at any size; a crash\n"
              "leaves either the old or the new seal, both valid. Signing a file that is unsealed or HMAC-sealed\n"
              "(or the reverse) also changes its header (feature bit 1), so the file is copied, patched and renamed\n"
              "over the original (a reflink where the file system has them).\n"
              "Examples:\n  vramsnap seal model.snap --key-file ci.key\n"
              "  vramsnap seal model.snap --key-file deploy.key    # Ed25519 private key: signs");
  return {sub, [o] {
            auto key = find_key(o->key_file, false);
            if (!key.ok()) return report_error("seal", key.error());
            SealInfo prev;
            auto now = vramsnap::seal(o->snap, **key, &prev);
            if (!now.ok()) return report_error("seal", now.error());
            const std::string was = prev.state == SealState::Unsealed ? "unsealed"
                                     : prev.state == SealState::Ed25519 ? "Ed25519 key " + prev.key_id_hex
                                                                        : "key " + prev.key_id_hex;
            if (o->json)
              print_json(nlohmann::json{{"path", o->snap},
                                        {"key_id", now->key_id_hex},
                                        {"algorithm", now->algorithm},
                                        {"previous", prev.state == SealState::Unsealed ? nlohmann::json(nullptr)
                                                                                       : nlohmann::json(prev.key_id_hex)}}
                             .dump(2));
            else if (now->state == SealState::Ed25519)
              fmt::print("signed {} with Ed25519 key {} (was: {})\n", escaped(o->snap), now->key_id_hex, was);
            else fmt::print("sealed {} with key {} (was: {})\n", escaped(o->snap), now->key_id_hex, was);
            return kExitOk;
          }};
}

}  // namespace vramsnap::cli
