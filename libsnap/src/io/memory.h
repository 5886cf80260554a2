#pragma once
// How much host memory this process may still take.
#include <cstdint>
#include <optional>

namespace vramsnap::io {

// The smaller of the kernel's MemAvailable (/proc/meminfo) and the room left
// under this process's cgroup v2 memory limit (memory.max - memory.current),
// when either can be read; nullopt when neither can (not Linux, /proc absent).
std::optional<uint64_t> available_host_memory();

}  // namespace vramsnap::io
