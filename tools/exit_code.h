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

// Prints the error (and its hint line, if any) to stderr, control
// characters escaped; returns the exit code. In JSON mode it also prints
// {"ok": false, "path"?, "failure": {kind, message, exit_code}} on stdout.
int report_error(const char* command, const Error& error);

// JSON mode for report_error and for interrupts (SIGINT/SIGTERM print the
// failure object with kind "interrupted"). `path`: the snapshot named, if any.
void report_failures_as_json(const std::string& path = {});

// Flushes stdout; a failed write (a full disk, /dev/full, a closed pipe) is
// an IO error (exit 4) instead of a silent, truncated report.
int finish_stdout(const char* command, int exit_code);

}  // namespace vramsnap::cli
