#pragma once
// The one place where library errors become exit codes (documented in vramsnap(1)).
#include "vramsnap/error.hpp"

namespace vramsnap::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitVerifyFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFormat = 3;
inline constexpr int kExitIO = 4;
inline constexpr int kExitResource = 5;
inline constexpr int kExitUnavailable = 6;
inline constexpr int kExitRegression = 7;
inline constexpr int kExitInterrupted = 130;  // SIGINT, or cancelled
// SIGTERM exits 143; that path is io::install_interrupt_handlers' _exit(128 + signo).

int exit_code_for(ErrorKind kind);

// Prints "vramsnap <cmd>: <message>" (plus a hint line for some kinds) to
// stderr and returns the exit code.
int report_error(const char* command, const Error& error);

}  // namespace vramsnap::cli
