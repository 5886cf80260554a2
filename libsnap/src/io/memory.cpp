#include "io/memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>

namespace vramsnap::io {
namespace {

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  return v;
}

std::optional<std::string> read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<uint64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib > UINT64_MAX / 1024 ? UINT64_MAX : kib * 1024;
  }
  return std::nullopt;
}

// cgroup v2 only ("0::/path" in /proc/self/cgroup); v1 hierarchies and "max"
// (no limit) give nullopt.
std::optional<uint64_t> cgroup_room() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    auto max = read_first_line(dir + "/memory.max");
    auto cur = read_first_line(dir + "/memory.current");
    if (!max || !cur || *max == "max") return std::nullopt;
    auto m = parse_u64(*max);
    auto c = parse_u64(*cur);
    if (!m || !c) return std::nullopt;
    return *m > *c ? *m - *c : 0;
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> available_host_memory() {
  auto a = mem_available();
  auto b = cgroup_room();
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

void populate_for_write(std::span<uint8_t> dst) {
#ifdef MADV_POPULATE_WRITE
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  if (dst.empty() || page == 0) return;
  const uintptr_t start = reinterpret_cast<uintptr_t>(dst.data()) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(dst.data()) + dst.size();
  (void)::madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
#else
  (void)dst;
#endif
}

}  // namespace vramsnap::io
