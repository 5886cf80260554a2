#pragma once
// Fault injection for tests: makes the Nth read or write in this process fail
// or come back short. Off unless a test sets a plan (or VRAMSNAP_FAULT is set
// in the environment of a test run: "read-eio:N", "read-short:N",
// "write-enospc:N", "write-eio:N").
#include <cstdint>

namespace vramsnap::io::fault {

enum class Kind { None, ReadEio, ReadShort, WriteEnospc, WriteEio };

struct Plan {
  Kind kind = Kind::None;
  uint64_t at = 0;  // 1-based index of the read or write call that fails
};

void set_plan(Plan plan);
void clear();
// Called by io/ before each read / write syscall: returns 0 to proceed, or an
// errno to fail with, or -1 for "return half the bytes" (short read).
int before_read();
int before_write();

}  // namespace vramsnap::io::fault
