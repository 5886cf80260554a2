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

static_assert(std::atomic<int>::is_always_lock_free, "signal handler needs lock-free atomics");

struct Slot {
  std::atomic<int> state{kFree};
  bool is_dir = false;
  char path[PATH_MAX];
};

// Empties and removes a staging directory with raw syscalls only.
void remove_dir_in_handler(const char* path) {
  static char buf[8192];  // the handler runs once and then _exits
  int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    for (;;) {
      long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        const char* name = d->d_name;
        if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))) ::unlinkat(fd, name, 0);
        off += d->d_reclen;
      }
    }
    ::close(fd);
  }
  ::rmdir(path);
}

Slot g_slots[kSlots];
std::atomic<bool> g_interrupted{false};
std::once_flag g_install_once;

extern "C" void on_interrupt(int signo) {
  g_interrupted.store(true, std::memory_order_relaxed);
  for (Slot& s : g_slots) {
    if (s.state.load(std::memory_order_acquire) != kReady) continue;
    if (s.is_dir) remove_dir_in_handler(s.path);
    else ::unlink(s.path);
  }
  static const char kMsg[] = "vramsnap: interrupted, partial output removed\n";
  ssize_t n = ::write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
  (void)n;  // nothing useful to do if stderr is gone
  ::_exit(128 + signo);
}

}  // namespace

namespace {
int register_slot(const std::string& path, bool is_dir) {
  if (path.empty() || path.size() >= PATH_MAX || path.find('\0') != std::string::npos) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = kFree;
    // kWriting keeps the handler away from a half-copied path.
    if (!g_slots[i].state.compare_exchange_strong(expected, kWriting, std::memory_order_acquire)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].is_dir = is_dir;
    g_slots[i].state.store(kReady, std::memory_order_release);
    return i;
  }
  return -1;
}
}  // namespace

int register_temp_path(const std::string& path) { return register_slot(path, false); }
int register_temp_dir(const std::string& path) { return register_slot(path, true); }

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

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

}  // namespace vramsnap::io
