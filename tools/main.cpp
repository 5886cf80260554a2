// vramsnap: one binary, subcommands over libvramsnap's public API. The
// grammar and the printing live here and in cmd_*.cpp; the rules are the
// library's.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string_view>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "commands.h"
#include "exit_code.h"
#include "vramsnap/runtime.hpp"
#include "vramsnap/version.hpp"

namespace {

using namespace vramsnap::cli;

// The subcommand a command line names (for messages before parsing has
// finished), or "" when none.
std::string command_of(const std::vector<Command>& commands, int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    for (const auto& c : commands)
      if (c.app->get_name() == argv[i]) return c.app->get_name();
  return {};
}

// Whether that command was asked for JSON on stdout: --json, or bench's
// "--json -".
bool wants_json(std::string_view command, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (command == "bench") {
      if (a == "--json=-" || (a == "--json" && i + 1 < argc && std::strcmp(argv[i + 1], "-") == 0)) return true;
    } else if (a == "--json") {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // The tool fetches algorithms by name from the providers only, so OpenSSL
  // need not build its legacy name tables (every cipher and digest) at the
  // first fetch, nor its error string tables: the tool's messages are its
  // own, and the one place that prints an OpenSSL error (a broken OpenSSL)
  // then shows its code. Process-wide, so it is the program's choice, not
  // the library's. The system's openssl.cnf is still read.
  OPENSSL_init_crypto(
      OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, nullptr);
  CLI::App app{"vramsnap: capture GPU workload state into one compressed, integrity-checked, sealed snapshot, "
               "and restore it fast.",
               "vramsnap"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version",
      [] {
        std::string v = vramsnap::version_report();
        if (*VRAMSNAP_LINKED_IN) v += std::string("\nlinked in: ") + VRAMSNAP_LINKED_IN;
        return v;
      },
      "Print versions and exit");
  app.footer(
      "Exit codes: 0 ok, 1 integrity, 2 usage, 3 format, 4 I/O, 5 resource/limit,\n"
      "6 GPU unavailable/incompatible, 7 bench regression, 130/143 interrupted.\n"
      "Run 'vramsnap COMMAND --help' for a command's options, or see vramsnap(1).");
  std::vector<Command> commands = {register_keygen(app),  register_capture(app), register_inspect(app),
                                   register_seal(app),    register_verify(app),  register_restore(app),
                                   register_bench(app),  register_push(app)};
  // An empty value is never "unset": --key-file "" must not fall back to
  // $VRAMSNAP_KEY_FILE, nor --extract "" become a host restore.
  for (const auto& c : commands)
    for (CLI::Option* opt : c.app->get_options())
      if (opt->get_type_size() != 0 && opt->get_name() != "--help") opt->check(kNonEmpty);
  const std::string command = command_of(commands, argc, argv);
  const std::string shown = command.empty() ? "usage" : command;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (wants_json(command, argc, argv)) report_failures_as_json();
    report_error(shown.c_str(), vramsnap::Error(vramsnap::ErrorKind::Usage, e.what()));
    fmt::print(stderr, "vramsnap {}: hint: run 'vramsnap {}--help' for the options\n", shown,
               command.empty() ? "" : command + " ");
    return finish_stdout(shown.c_str(), kExitUsage);
  }
  vramsnap::install_interrupt_cleanup();
  if (wants_json(command, argc, argv)) report_failures_as_json();
  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return finish_stdout(shown.c_str(), c.run());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "vramsnap: out of memory\n");
    return kExitResource;
  } catch (const std::system_error& e) {
    // fmt::print throws when stdout cannot take the report.
    if (std::ferror(stdout)) return finish_stdout(shown.c_str(), kExitOk);
    fmt::print(stderr, "vramsnap {}: internal error: {}\n", shown, e.what());
    return kExitIO;
  } catch (const std::exception& e) {
    fmt::print(stderr, "vramsnap {}: internal error: {}\n", shown, e.what());
    return kExitIO;
  }
  return kExitUsage;
}
