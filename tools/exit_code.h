#pragma once
// Where library errors leave the tool: "vramsnap CMD: <kind>: <message>" on
// stderr, a hint line naming the flag that helps where one does (the library
// speaks API terms and names no flag), and the exit code from the library's
// one table (error_kind_info; documented in vramsnap(1)).
#include <string>

#include "vramsnap/error.hpp"

namespace vramsnap::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitIntegrity = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFormat = 3;
inline constexpr int kExitIO = 4;
inline constexpr int kExitResource = 5;
inline constexpr int kExitUnavailable = 6;
inline constexpr int kExitRegression = 7;   // bench only: not an error kind
inline constexpr int kExitInterrupted = 130;  // SIGINT, or cancelled
// SIGTERM exits 143: the interrupt handler's _exit(128 + signo).

int exit_code_for(ErrorKind kind);

// The flag that helps with `error` in `command`, as a sentence ("pass --force
// to replace it"); empty when none does.
std::string hint_for(const char* command, const Error& error);

// Prints the error (and its hint line, if any) to stderr; returns the exit code.
int report_error(const char* command, const Error& error);

}  // namespace vramsnap::cli
