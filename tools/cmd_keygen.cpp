// vramsnap keygen -o KEYFILE
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/key.hpp"

namespace vramsnap::cli {

Command register_keygen(CLI::App& app) {
  struct Opts { std::string out; bool json = false, quiet = false; };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("keygen", "Create a new 256-bit sealing key file (mode 0600; never overwrites)");
  sub->add_option("-o,--output", o->out, "Key file to create")->required()->type_name("KEYFILE");
  sub->add_flag("--json", o->json, "Print the result as JSON");
  sub->add_flag("-q,--quiet", o->quiet, "Accepted as by every command (keygen shows no progress)");
  sub->footer("Example:\n  vramsnap keygen -o /etc/vramsnap/ci.key\n"
              "The key id printed here is what seal, verify and inspect show; the key itself is never printed.");
  return {sub, [o] {
            auto id = Key::generate(o->out);
            if (!id.ok()) return report_error("keygen", id.error());
            if (o->json) print_json(nlohmann::json{{"key_file", o->out}, {"key_id", *id}}.dump(2));
            else fmt::print("created key {} (key id {}, mode 0600)\n", escaped(o->out), *id);
            return kExitOk;
          }};
}

}  // namespace vramsnap::cli
