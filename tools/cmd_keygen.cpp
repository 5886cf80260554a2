// vramsnap keygen [--type hmac|ed25519] -o KEYFILE
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/key.hpp"

namespace vramsnap::cli {

Command register_keygen(CLI::App& app) {
  struct Opts { std::string out, type = "hmac"; bool json = false, quiet = false; };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("keygen", "Create a new sealing key: a 256-bit HMAC key, or an Ed25519 key pair "
                                           "(private key mode 0600; never overwrites)");
  sub->add_option("-o,--output", o->out, "Key file to create (the private key for ed25519)")->required()
      ->type_name("KEYFILE");
  sub->add_option("--type", o->type, "hmac (default): one secret key that seals and verifies; ed25519: a private "
                                     "key that signs and a public key (KEYFILE with .key replaced by .pub) that "
                                     "only verifies")
      ->check(CLI::IsMember({"hmac", "ed25519"}))->type_name("TYPE");
  sub->add_flag("--json", o->json, "Print the result as JSON (formats/keygen-output.schema.json)");
  sub->add_flag("-q,--quiet", o->quiet, "Accepted as by every command (keygen shows no progress)");
  sub->footer("Examples:\n  vramsnap keygen -o /etc/vramsnap/ci.key\n"
              "  vramsnap keygen --type ed25519 -o deploy.key    # writes deploy.key and deploy.pub\n"
              "The key id printed here is what seal, verify and inspect show; the key itself is never printed.");
  return {sub, [o] {
            if (o->type == "ed25519") {
              const std::string pub = Key::public_path_for(o->out);
              auto id = Key::generate_ed25519(o->out, pub);
              if (!id.ok()) return report_error("keygen", id.error());
              if (o->json)
                print_json(nlohmann::json{{"key_file", o->out}, {"key_id", *id}, {"type", "ed25519"},
                                          {"public_key_file", pub}}.dump(2));
              else
                fmt::print("created Ed25519 key pair {} (private, mode 0600) and {} (public) (key id {})\n",
                           escaped(o->out), escaped(pub), *id);
              return kExitOk;
            }
            auto id = Key::generate(o->out);
            if (!id.ok()) return report_error("keygen", id.error());
            if (o->json) print_json(nlohmann::json{{"key_file", o->out}, {"key_id", *id}, {"type", "hmac"}}.dump(2));
            else fmt::print("created key {} (key id {}, mode 0600)\n", escaped(o->out), *id);
            return kExitOk;
          }};
}

}  // namespace vramsnap::cli
