#pragma once
// Listing a directory tree for capture: every regular file below DIR with its
// path relative to DIR, size and permission bits. Each level is opened with
// openat(O_DIRECTORY|O_NOFOLLOW) from its parent's descriptor, so a directory
// swapped for a symlink mid-walk is refused, never followed. Symlinks,
// devices, sockets and FIFOs are refused with an error naming the entry: a
// sealed image must hold exactly what it claims to.
#include <cstdint>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"

namespace vramsnap::io {

struct TreeFile {
  std::string path;   // relative to DIR, '/'-separated, no "." or ".." segments
  uint64_t size = 0;
  unsigned mode = 0;  // permission bits (0777)
};

struct TreeLimits {
  size_t max_files = 65536;
  size_t max_depth = 64;
};

// Files in lexicographic order of their relative paths (byte order), so the
// same tree always lists the same way. IO errors name the entry.
Result<std::vector<TreeFile>> list_tree(const std::string& dir, const TreeLimits& limits = {});

}  // namespace vramsnap::io
