#pragma once
// Each subcommand registers itself on the app and returns how to run it.
#include <algorithm>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace vramsnap::cli {

// For options that take a u64 (--generation, --min-generation): CLI11 2.1
// would wrap "-1" to 2^64-1 and saturate values past 2^64-1 without an error.
inline const CLI::Validator kUint64Arg(
    [](std::string& s) -> std::string {
      const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
      const std::string max = "18446744073709551615";
      const size_t lead = digits ? std::min(s.find_first_not_of('0'), s.size() - 1) : 0;
      const std::string v = s.substr(lead);
      if (digits && (v.size() < max.size() || (v.size() == max.size() && v <= max))) return {};
      return "expected an integer from 0 to " + max + ", got " + s;
    },
    "", "UINT64");

// Every option value: empty is refused, never taken as "unset".
inline const CLI::Validator kNonEmpty(
    [](std::string& s) -> std::string { return s.empty() ? "an empty value is not allowed" : std::string(); }, "",
    "NONEMPTY");

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
Command register_push(CLI::App& app);

}  // namespace vramsnap::cli
