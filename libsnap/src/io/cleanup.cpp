#include "io/cleanup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>

namespace vramsnap::io {
namespace {

// The handler touches only these statics: lock-free atomics and fixed
// buffers, so it never allocates or takes a lock.
constexpr int kSlots = 64;
enum SlotState : int { kFree = 0, kWriting = 1, kReady = 2 };
enum SlotKind : int { kFile = 0, kTree = 1, kEmptyDir = 2 };

static_assert(std::atomic<int>::is_always_lock_free, "signal handler needs lock-free atomics");

struct Slot {
  std::atomic<int> state{kFree};
  int kind = 0;  // SlotKind
  char path[PATH_MAX] = {};
};

// Removes `name` under `dirfd` and everything below it, with raw syscalls
// only (a staged tree may be nested). Depth is bounded by the caller's tree
// rules; a buffer per level keeps each getdents64 pass independent.
void remove_entry_in_handler(int dirfd, const char* name, int depth) {
  if (::unlinkat(dirfd, name, 0) == 0 || depth > 256) return;
  const int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  alignas(8) char buf[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      const char* e = d->d_name;
      if (!(e[0] == '.' && (e[1] == '\0' || (e[1] == '.' && e[2] == '\0')))) remove_entry_in_handler(fd, e, depth + 1);
      off += d->d_reclen;
    }
  }
  ::close(fd);
  ::unlinkat(dirfd, name, AT_REMOVEDIR);
}

// constinit: zero-filled .bss that no start-up code writes, so the 256 KiB
// of paths cost no page faults unless a slot is used.
constinit Slot g_slots[kSlots];
std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_json{false};
std::once_flag g_install_once;

extern "C" void on_interrupt(int signo) {
  g_interrupted.store(true, std::memory_order_relaxed);
  for (Slot& s : g_slots) {
    if (s.state.load(std::memory_order_acquire) != kReady) continue;
    if (s.kind == kTree) remove_entry_in_handler(AT_FDCWD, s.path, 0);
    else if (s.kind == kFile) ::unlink(s.path);
  }
  // Directories the operation created go last, once their content is gone
  // (rmdir: never anything that was put there by someone else).
  for (Slot& s : g_slots)
    if (s.state.load(std::memory_order_acquire) == kReady && s.kind == kEmptyDir) ::rmdir(s.path);
  static const char kMsg[] = "vramsnap: interrupted, partial output removed\n";
  ssize_t n = ::write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
  if (g_json.load(std::memory_order_relaxed)) {
    static const char kHead[] =
        "{\n  \"failure\": {\n    \"exit_code\": ";
    static const char kTail[] =
        ",\n    \"kind\": \"interrupted\",\n    \"message\": \"interrupted by a signal; partial output removed\"\n"
        "  },\n  \"ok\": false\n}\n";
    const int code = 128 + signo;
    const char digits[3] = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                            static_cast<char>('0' + code % 10)};
    n = ::write(STDOUT_FILENO, kHead, sizeof(kHead) - 1);
    n = ::write(STDOUT_FILENO, digits, 3);
    n = ::write(STDOUT_FILENO, kTail, sizeof(kTail) - 1);
  }
  (void)n;  // nothing useful to do if stdout or stderr is gone
  ::_exit(128 + signo);
}

}  // namespace

namespace {
int register_slot(const std::string& path, int kind) {
  if (path.empty() || path.size() >= PATH_MAX || path.find('\0') != std::string::npos) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = kFree;
    // kWriting keeps the handler away from a half-copied path.
    if (!g_slots[i].state.compare_exchange_strong(expected, kWriting, std::memory_order_acquire)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].kind = kind;
    g_slots[i].state.store(kReady, std::memory_order_release);
    return i;
  }
  return -1;
}
}  // namespace

int register_temp_path(const std::string& path) { return register_slot(path, kFile); }
int register_temp_dir(const std::string& path) { return register_slot(path, kTree); }
int register_created_dir(const std::string& path) { return register_slot(path, kEmptyDir); }

void remove_tree_at(int dirfd, const std::string& name) { remove_entry_in_handler(dirfd, name.c_str(), 0); }

ScopedInterruptBlock::ScopedInterruptBlock() {
  static_assert(sizeof(old_) >= sizeof(sigset_t), "sigset_t storage");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ok_ = ::pthread_sigmask(SIG_BLOCK, &set, reinterpret_cast<sigset_t*>(old_)) == 0;
}

ScopedInterruptBlock::~ScopedInterruptBlock() {
  if (ok_) ::pthread_sigmask(SIG_SETMASK, reinterpret_cast<sigset_t*>(old_), nullptr);
}

void unregister_temp_path(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  g_slots[slot].state.store(kFree, std::memory_order_release);
}

void install_interrupt_handlers() {
  std::call_once(g_install_once, [] {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    // Block both signals while one is handled so a second Ctrl-C cannot
    // re-enter the handler half-way through the unlink loop.
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  });
}

void set_interrupt_json(bool on) { g_json.store(on, std::memory_order_relaxed); }

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

}  // namespace vramsnap::io
