#pragma once
// Interrupt cleanup: temp files registered here are unlinked by the signal
// handler that tools install (SIGINT -> exit 130, SIGTERM -> exit 143), so an
// interrupted capture or extract leaves nothing behind. Async-signal-safe:
// fixed slots, no allocation in the handler.
#include <string>

namespace vramsnap::io {

// Returns a slot id (>= 0) or -1 when all slots are taken.
int register_temp_path(const std::string& path);
// A private staging directory: on interrupt, it is removed with everything
// below it (raw getdents64/unlinkat: still async-signal-safe).
int register_temp_dir(const std::string& path);
// A directory an operation created for its output: on interrupt it is
// removed only if empty (rmdir), after every other registered path.
int register_created_dir(const std::string& path);

// Removes dirfd/name and, if it is a directory, everything below it, without
// following symlinks. Best effort: errors are ignored.
void remove_tree_at(int dirfd, const std::string& name);
void unregister_temp_path(int slot);

// Blocks SIGINT/SIGTERM on this thread for its lifetime, so "create a temp
// file" and "register it for cleanup" happen as one step.
class ScopedInterruptBlock {
 public:
  ScopedInterruptBlock();
  ~ScopedInterruptBlock();
  ScopedInterruptBlock(const ScopedInterruptBlock&) = delete;
  ScopedInterruptBlock& operator=(const ScopedInterruptBlock&) = delete;

 private:
  unsigned long old_[16];  // sigset_t storage without <signal.h> in the header
  bool ok_ = false;
};

// Installs SIGINT/SIGTERM handlers that unlink registered paths, run the
// registered cancel flag, and _exit(128 + signo).
void install_interrupt_handlers();

// With `on`, the handler also writes a JSON failure object to stdout.
void set_interrupt_json(bool on);

// Set by the handler before exiting; long loops may poll it to stop early.
bool interrupted();

}  // namespace vramsnap::io
