#pragma once
// Questions asked of the file system before any work starts, so that a bad
// input or an output that cannot fit fails in milliseconds, not after
// minutes: the room left where a directory will be written, and whether a
// file's reported size is its real length (procfs and sysfs files report 0).
#include <cstdint>
#include <string>

#include "vramsnap/error.hpp"

namespace vramsnap::io {

// Bytes an unprivileged writer may still use on the file system that holds
// `path`, or that would hold it: the nearest existing ancestor is asked
// (statvfs f_bavail * f_frsize).
Result<uint64_t> available_bytes(const std::string& path);

// True when `path` yields data at offset `size`, i.e. it is longer than the
// size stat reported (pseudo-files, or a file growing while it is read).
Result<bool> holds_bytes_past(const std::string& path, uint64_t size);

}  // namespace vramsnap::io
