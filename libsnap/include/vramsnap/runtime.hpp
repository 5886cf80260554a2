#pragma once
// Process-level services for programs built on vramsnap (the vramsnap tool is
// one): removal of temporary files when SIGINT/SIGTERM arrive, and a file
// written the way snapshots are (temp file, fsync, rename). A library does not
// install signal handlers on its own; a program opts in here.
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"

namespace vramsnap {

// Installs SIGINT/SIGTERM handlers that unlink every registered temporary
// path (the library registers its own temp files too), cancel running
// operations and _exit(130) or _exit(143).
VRAMSNAP_API void install_interrupt_cleanup();

// Registers a path for removal on interrupt; returns a slot id (>= 0), or -1
// when all slots are taken. Async-signal-safe to clean up: fixed slots.
VRAMSNAP_API int register_temp_path(const std::string& path);
VRAMSNAP_API void unregister_temp_path(int slot);
// A temporary directory: removed on interrupt with everything below it.
// unregister_temp_path releases its slot.
VRAMSNAP_API int register_temp_dir(const std::string& path);

// With `on`, an interrupt also prints one JSON object on stdout before the
// exit: {"ok": false, "failure": {"kind": "interrupted", "message": ...,
// "exit_code": 130 or 143}}, for programs whose --json callers parse stdout.
VRAMSNAP_API void report_interrupt_as_json(bool on) noexcept;

// True once an interrupt arrived; long loops poll it to stop early.
VRAMSNAP_API bool interrupted() noexcept;

// Writes `size` bytes to `path`, `fill(offset, piece)` supplying them piece by
// piece (pieces of at most 64 MiB, in order): into a temp file beside it, then
// fsync, rename into place, fsync the directory. Without `overwrite` an
// existing `path` is an IO error. On any error nothing is left behind.
// The checks write_file_atomically makes of `path` before it creates
// anything (its directory exists, it is not a directory, device, FIFO or
// socket, and without `overwrite` it does not exist), for a program that
// learns of a bad output path before minutes of work rather than after.
VRAMSNAP_API Status check_output_path(const std::string& path, bool overwrite = false);

VRAMSNAP_API Status write_file_atomically(const std::string& path, uint64_t size,
                                          const std::function<Status(uint64_t, std::span<uint8_t>)>& fill,
                                          bool overwrite = false);

}  // namespace vramsnap
