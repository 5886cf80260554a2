#include "exit_code.h"

#include <fmt/format.h>

#include <cstdio>

namespace vramsnap::cli {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Auth: return kExitVerifyFailed;
    case ErrorKind::Usage: return kExitUsage;
    case ErrorKind::Format: return kExitFormat;
    case ErrorKind::IO: return kExitIO;
    case ErrorKind::Limit:
    case ErrorKind::Resource: return kExitResource;
    case ErrorKind::Compat: return kExitUnavailable;
    case ErrorKind::Interrupted: return kExitInterrupted;
  }
  return kExitIO;
}

int report_error(const char* command, const Error& error) {
  fmt::print(stderr, "vramsnap {}: {}: {}\n", command, to_string(error.kind()), error.message());
  return exit_code_for(error.kind());
}

}  // namespace vramsnap::cli
