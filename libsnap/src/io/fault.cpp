#include "io/fault.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace vramsnap::io::fault {
namespace {

// kUnparsed marks "VRAMSNAP_FAULT not looked at yet"; parsing lazily on the
// first I/O call avoids depending on static-initialisation order.
constexpr int kUnparsed = -1;

std::atomic<int> g_kind{kUnparsed};
std::atomic<uint64_t> g_at{0};
std::atomic<uint64_t> g_reads{0};
std::atomic<uint64_t> g_writes{0};

Plan parse_env() {
  const char* env = std::getenv("VRAMSNAP_FAULT");
  if (env == nullptr) return {};
  std::string_view spec(env);
  struct Name {
    std::string_view prefix;
    Kind kind;
  };
  static constexpr Name kNames[] = {
      {"read-eio:", Kind::ReadEio},
      {"read-short:", Kind::ReadShort},
      {"write-enospc:", Kind::WriteEnospc},
      {"write-eio:", Kind::WriteEio},
  };
  for (const Name& n : kNames) {
    if (spec.substr(0, n.prefix.size()) != n.prefix) continue;
    std::string_view digits = spec.substr(n.prefix.size());
    if (digits.empty() || digits.size() > 18) return {};
    uint64_t at = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return {};
      at = at * 10 + static_cast<uint64_t>(c - '0');
    }
    if (at == 0) return {};  // 1-based: 0 would never fire
    return Plan{n.kind, at};
  }
  return {};  // malformed plans are ignored: this is a test hook only
}

// Slow path of load_kind(): first call in the process.
int resolve_env_plan() {
  Plan p = parse_env();
  g_at.store(p.at, std::memory_order_relaxed);
  int expected = kUnparsed;
  // A set_plan() that raced ahead wins; the environment only fills a blank.
  g_kind.compare_exchange_strong(expected, static_cast<int>(p.kind), std::memory_order_acq_rel);
  return g_kind.load(std::memory_order_acquire);
}

int load_kind() {
  int k = g_kind.load(std::memory_order_relaxed);
  if (k == kUnparsed) k = resolve_env_plan();
  return k;
}

// Returns true when this call is the planned one.
bool hit(std::atomic<uint64_t>& counter) {
  uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  return n == g_at.load(std::memory_order_relaxed);
}

}  // namespace

void set_plan(Plan plan) {
  // Off first so a concurrent I/O call cannot pair the new kind with an old
  // target or counter.
  g_kind.store(static_cast<int>(Kind::None), std::memory_order_release);
  g_reads.store(0, std::memory_order_relaxed);
  g_writes.store(0, std::memory_order_relaxed);
  g_at.store(plan.at, std::memory_order_relaxed);
  g_kind.store(static_cast<int>(plan.kind), std::memory_order_release);
}

void clear() { set_plan(Plan{}); }

int before_read() {
  int k = load_kind();
  if (k == static_cast<int>(Kind::None)) return 0;
  if (k == static_cast<int>(Kind::ReadEio)) return hit(g_reads) ? EIO : 0;
  if (k == static_cast<int>(Kind::ReadShort)) return hit(g_reads) ? -1 : 0;
  return 0;
}

int before_write() {
  int k = load_kind();
  if (k == static_cast<int>(Kind::None)) return 0;
  if (k == static_cast<int>(Kind::WriteEnospc)) return hit(g_writes) ? ENOSPC : 0;
  if (k == static_cast<int>(Kind::WriteEio)) return hit(g_writes) ? EIO : 0;
  return 0;
}

}  // namespace vramsnap::io::fault
