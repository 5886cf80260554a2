// The one table of error kinds: name, tool exit code, C API status. The C
// status equals the exit code, so a shell wrapper around an embedding program
// and the tool report a failure the same way.
#include "vramsnap/error.hpp"

#include "vramsnap/vramsnap.h"

namespace vramsnap {

ErrorKindInfo error_kind_info(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::Usage: return {"usage error", 2, VRAMSNAP_ERR_USAGE};
    case ErrorKind::Format: return {"format error", 3, VRAMSNAP_ERR_FORMAT};
    case ErrorKind::Integrity: return {"integrity error", 1, VRAMSNAP_ERR_INTEGRITY};
    case ErrorKind::IO: return {"I/O error", 4, VRAMSNAP_ERR_IO};
    case ErrorKind::Limit: return {"limit exceeded", 5, VRAMSNAP_ERR_RESOURCE};
    case ErrorKind::Resource: return {"out of resources", 5, VRAMSNAP_ERR_RESOURCE};
    case ErrorKind::Compat: return {"unavailable", 6, VRAMSNAP_ERR_UNAVAILABLE};
    case ErrorKind::Interrupted: return {"interrupted", 130, VRAMSNAP_ERR_INTERRUPTED};
  }
  return {"I/O error", 4, VRAMSNAP_ERR_IO};
}

const char* to_string(ErrorKind kind) noexcept { return error_kind_info(kind).name; }

}  // namespace vramsnap
