// vramsnap: one binary, subcommands over libvramsnap's public API. The
// grammar and the printing live here and in cmd_*.cpp; the rules are the
// library's.
#include <cstdio>
#include <exception>
#include <new>

#include <fmt/format.h>

#include "commands.h"
#include "exit_code.h"
#include "vramsnap/runtime.hpp"
#include "vramsnap/version.hpp"

int main(int argc, char** argv) {
  using namespace vramsnap::cli;
  CLI::App app{"vramsnap: capture GPU workload state into one compressed, integrity-checked, sealed snapshot, "
               "and restore it fast.",
               "vramsnap"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return vramsnap::version_report(); }, "Print versions and exit");
  app.footer(
      "Exit codes: 0 ok, 1 integrity, 2 usage, 3 format, 4 I/O, 5 resource/limit,\n"
      "6 GPU unavailable/incompatible, 7 bench regression, 130/143 interrupted.\n"
      "Run 'vramsnap COMMAND --help' for a command's options, or see vramsnap(1).");
  std::vector<Command> commands = {register_keygen(app),  register_capture(app), register_inspect(app),
                                   register_seal(app),    register_verify(app),  register_restore(app),
                                   register_bench(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  vramsnap::install_interrupt_cleanup();
  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "vramsnap: out of memory\n");
    return kExitResource;
  } catch (const std::exception& e) {
    fmt::print(stderr, "vramsnap: internal error: {}\n", e.what());
    return kExitIO;
  }
  return kExitUsage;
}
