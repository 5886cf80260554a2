#pragma once
// Each subcommand registers itself on the app and returns how to run it.
#include <functional>

#include <CLI/CLI.hpp>

namespace vramsnap::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command register_keygen(CLI::App& app);
Command register_capture(CLI::App& app);
Command register_inspect(CLI::App& app);
Command register_seal(CLI::App& app);
Command register_verify(CLI::App& app);
Command register_restore(CLI::App& app);
Command register_bench(CLI::App& app);

}  // namespace vramsnap::cli
