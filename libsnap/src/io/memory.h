#pragma once
// How much host memory this process may still take, and how fresh memory is
// faulted in.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace vramsnap::io {

// The smaller of the kernel's MemAvailable (/proc/meminfo) and the room left
// under this process's cgroup v2 memory limit (memory.max - memory.current),
// when either can be read; nullopt when neither can (not Linux, /proc absent).
std::optional<uint64_t> available_host_memory();

// Fresh anonymous memory takes a page fault per 4 KiB page on first write,
// which on the machines we measured costs about as much as hashing the bytes
// (performance.md). One madvise(MADV_POPULATE_WRITE) faults a range in as a
// batch, about half the cost, on the thread about to fill it. Only a hint:
// before Linux 5.14 it fails with EINVAL and pages fault in as written;
// contents are unchanged. The range's first page may be shared with other
// data (it is written, never cleared).
void populate_for_write(std::span<uint8_t> dst);

}  // namespace vramsnap::io
