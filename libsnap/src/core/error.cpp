#include "vramsnap/error.hpp"

namespace vramsnap {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::Usage: return "usage error";
    case ErrorKind::Format: return "format error";
    case ErrorKind::Auth: return "verification failed";
    case ErrorKind::IO: return "I/O error";
    case ErrorKind::Limit: return "limit exceeded";
    case ErrorKind::Resource: return "out of resources";
    case ErrorKind::Compat: return "unavailable";
    case ErrorKind::Interrupted: return "interrupted";
  }
  return "error";
}

}  // namespace vramsnap
