// io/: exact reads, refusal of non-regular inputs, atomic output, fault
// injection and interrupt cleanup.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fault_guard.h"
#include "temp_dir.h"
#include "io/cleanup.h"
#include "io/file.h"

namespace fs = std::filesystem;
using namespace vramsnap;
using namespace vramsnap::io;
using vtest::FaultGuard;
using vtest::TempDir;

namespace {


std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131 + 7) & 0xff);
  return v;
}

void write_file(const std::string& path, const std::vector<uint8_t>& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

// ---- InputFile ----

TEST_CASE("io: read_exact reads exactly the requested range") {
  TempDir dir("io");
  auto data = pattern(10000);
  write_file(dir / "in.bin", data);
  auto in = InputFile::open(dir / "in.bin");
  REQUIRE(in.ok());
  CHECK(in->size() == 10000);

  std::vector<uint8_t> all(10000);
  REQUIRE(in->read_exact(all, 0).ok());
  CHECK(all == data);

  std::vector<uint8_t> mid(100);
  REQUIRE(in->read_exact(mid, 4321).ok());
  CHECK(std::equal(mid.begin(), mid.end(), data.begin() + 4321));

  std::vector<uint8_t> none;
  CHECK(in->read_exact(none, 10000).ok());
  in->advise_sequential();
  in->drop_cache();
}

TEST_CASE("io: read_exact past EOF is a Format error naming the numbers") {
  TempDir dir("io");
  write_file(dir / "in.bin", pattern(100));
  auto in = InputFile::open(dir / "in.bin");
  REQUIRE(in.ok());
  std::vector<uint8_t> buf(10);
  auto st = in->read_exact(buf, 95);
  REQUIRE(!st.ok());
  CHECK(st.error().kind() == ErrorKind::Format);
  CHECK(st.error().message() == dir / "in.bin" + ": truncated: wanted 10 bytes at offset 95, file ends at 100");

  auto far = in->read_exact(buf, 1000);
  REQUIRE(!far.ok());
  CHECK(far.error().kind() == ErrorKind::Format);
  CHECK(far.error().message().find("file ends at 100") != std::string::npos);

  // Offset arithmetic that would overflow is truncation, not a crash.
  auto huge = in->read_exact(buf, UINT64_MAX - 3);
  REQUIRE(!huge.ok());
  CHECK(huge.error().kind() == ErrorKind::Format);
}

TEST_CASE("io: injected short reads are retried transparently") {
  TempDir dir("io");
  auto data = pattern(4096);
  write_file(dir / "in.bin", data);
  auto in = InputFile::open(dir / "in.bin");
  REQUIRE(in.ok());
  for (uint64_t n : {1, 2, 3}) {
    CAPTURE(n);
    FaultGuard guard({fault::Kind::ReadShort, n});
    std::vector<uint8_t> buf(4096);
    REQUIRE(in->read_exact(buf, 0).ok());
    CHECK(buf == data);
  }
  SUBCASE("a one-byte read cut short still makes progress") {
    FaultGuard guard({fault::Kind::ReadShort, 1});
    std::vector<uint8_t> one(1);
    REQUIRE(in->read_exact(one, 17).ok());
    CHECK(one[0] == data[17]);
  }
  SUBCASE("a short read followed by EOF is still truncation") {
    FaultGuard guard({fault::Kind::ReadShort, 1});
    std::vector<uint8_t> buf(200);
    auto st = in->read_exact(buf, 4000);
    REQUIRE(!st.ok());
    CHECK(st.error().kind() == ErrorKind::Format);
  }
}

TEST_CASE("io: injected EIO is an IO error, not corruption") {
  TempDir dir("io");
  write_file(dir / "in.bin", pattern(1000));
  auto in = InputFile::open(dir / "in.bin");
  REQUIRE(in.ok());
  std::vector<uint8_t> buf(100);
  {
    FaultGuard guard({fault::Kind::ReadEio, 2});
    CHECK(in->read_exact(buf, 0).ok());  // first read passes
    auto st = in->read_exact(buf, 500);
    REQUIRE(!st.ok());
    CHECK(st.error().kind() == ErrorKind::IO);
    CHECK(st.error().message().find(dir / "in.bin" + ": read at offset 500: ") == 0);
    CHECK(in->read_exact(buf, 0).ok());  // only the Nth call fails
  }
  // Write plans leave reads alone.
  FaultGuard guard({fault::Kind::WriteEio, 1});
  CHECK(in->read_exact(buf, 0).ok());
}

TEST_CASE("io: InputFile refuses what is not a regular file") {
  TempDir dir("io");
  SUBCASE("directory") {
    auto in = InputFile::open(dir.path);
    REQUIRE(!in.ok());
    CHECK(in.error().kind() == ErrorKind::IO);
    CHECK(in.error().message().find("is a directory") != std::string::npos);
  }
  SUBCASE("FIFO without a writer does not block") {
    std::string fifo = dir / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto in = InputFile::open(fifo);
    REQUIRE(!in.ok());
    CHECK(in.error().kind() == ErrorKind::IO);
    CHECK(in.error().message() == fifo + ": is a FIFO, not a regular file");
  }
  SUBCASE("character device") {
    auto in = InputFile::open("/dev/null");
    REQUIRE(!in.ok());
    CHECK(in.error().message().find("is a character device") != std::string::npos);
  }
  SUBCASE("missing file") {
    auto in = InputFile::open(dir / "nope");
    REQUIRE(!in.ok());
    CHECK(in.error().kind() == ErrorKind::IO);
    CHECK(in.error().message().find(dir / "nope" + ": cannot open: ") == 0);
  }
}

TEST_CASE("io: InputFile moves keep one owner of the descriptor") {
  TempDir dir("io");
  write_file(dir / "in.bin", pattern(10));
  auto a = InputFile::open(dir / "in.bin");
  REQUIRE(a.ok());
  int fd = a->fd();
  InputFile b = std::move(a).value();
  CHECK(b.fd() == fd);
  auto c = InputFile::open(dir / "in.bin");
  REQUIRE(c.ok());
  *c = std::move(b);
  CHECK(c->fd() == fd);
  std::vector<uint8_t> buf(10);
  CHECK(c->read_exact(buf, 0).ok());
}

// ---- AtomicOutput ----

TEST_CASE("io: AtomicOutput publishes only on commit") {
  TempDir dir("io");
  std::string final_path = dir / "out.snap";
  auto out = AtomicOutput::create(final_path, false);
  REQUIRE(out.ok());
  CHECK(out->final_path() == final_path);
  CHECK(fs::path(out->temp_path()).parent_path() == fs::path(dir.path));
  CHECK(fs::path(out->temp_path()).filename().string().rfind(".out.snap.vramsnap-", 0) == 0);

  REQUIRE(out->write_at(bytes("world"), 6).ok());
  REQUIRE(out->write_at(bytes("hello "), 0).ok());
  CHECK(!exists(final_path));
  CHECK(exists(out->temp_path()));

  REQUIRE(out->commit().ok());
  CHECK(read_text(final_path) == "hello world");
  CHECK(entries(dir.path) == std::vector<std::string>{"out.snap"});
  CHECK(!out->commit().ok());  // second commit is refused
}

TEST_CASE("io: AtomicOutput without commit leaves nothing") {
  TempDir dir("io");
  std::string temp;
  {
    auto out = AtomicOutput::create(dir / "out.snap", false);
    REQUIRE(out.ok());
    temp = out->temp_path();
    REQUIRE(out->write_at(bytes("partial"), 0).ok());
    CHECK(exists(temp));
  }
  CHECK(!exists(temp));
  CHECK(entries(dir.path).empty());

  auto out = AtomicOutput::create(dir / "out.snap", false);
  REQUIRE(out.ok());
  out->abandon();
  CHECK(entries(dir.path).empty());
  CHECK(!out->write_at(bytes("x"), 0).ok());
  CHECK(!out->commit().ok());
}

TEST_CASE("io: AtomicOutput moves transfer the temp file") {
  TempDir dir("io");
  auto a = AtomicOutput::create(dir / "a", false);
  REQUIRE(a.ok());
  std::string temp_a = a->temp_path();
  AtomicOutput moved = std::move(a).value();
  CHECK(exists(temp_a));
  auto b = AtomicOutput::create(dir / "b", false);
  REQUIRE(b.ok());
  std::string temp_b = b->temp_path();
  *b = std::move(moved);  // abandons b's own temp file
  CHECK(!exists(temp_b));
  CHECK(exists(temp_a));
  REQUIRE(b->commit().ok());
  CHECK(entries(dir.path) == std::vector<std::string>{"a"});
}

TEST_CASE("io: AtomicOutput refuses an existing output unless overwrite") {
  TempDir dir("io");
  std::string final_path = dir / "out.snap";
  write_file(final_path, {'o', 'l', 'd'});

  auto refused = AtomicOutput::create(final_path, false);
  REQUIRE(!refused.ok());
  CHECK(refused.error().kind() == ErrorKind::IO);
  CHECK(refused.error().message() == final_path + " exists and overwriting was not requested");

  auto out = AtomicOutput::create(final_path, true);
  REQUIRE(out.ok());
  REQUIRE(out->write_at(bytes("new"), 0).ok());
  REQUIRE(out->commit().ok());
  CHECK(read_text(final_path) == "new");
  CHECK(entries(dir.path).size() == 1);
}

TEST_CASE("io: AtomicOutput re-checks at commit without clobbering") {
  TempDir dir("io");
  std::string final_path = dir / "out.snap";
  std::string temp;
  {
    auto out = AtomicOutput::create(final_path, false);
    REQUIRE(out.ok());
    temp = out->temp_path();
    REQUIRE(out->write_at(bytes("mine"), 0).ok());
    write_file(final_path, {'t', 'h', 'e', 'i', 'r', 's'});  // appears meanwhile
    auto st = out->commit();
    REQUIRE(!st.ok());
    CHECK(st.error().kind() == ErrorKind::IO);
    CHECK(st.error().message() == final_path + " exists and overwriting was not requested");
  }
  CHECK(read_text(final_path) == "theirs");
  CHECK(!exists(temp));
  CHECK(entries(dir.path).size() == 1);
}

TEST_CASE("io: AtomicOutput path errors") {
  TempDir dir("io");
  SUBCASE("missing directory") {
    auto out = AtomicOutput::create(dir / "no/such/out.snap", false);
    REQUIRE(!out.ok());
    CHECK(out.error().kind() == ErrorKind::IO);
    CHECK(out.error().message().find("does not exist") != std::string::npos);
  }
  SUBCASE("final path is a directory, even with overwrite") {
    fs::create_directory(dir / "sub");
    for (bool overwrite : {false, true}) {
      auto out = AtomicOutput::create(dir / "sub", overwrite);
      REQUIRE(!out.ok());
      CHECK(out.error().message() == dir / "sub" + ": is a directory");
    }
  }
  SUBCASE("a FIFO (or device) is never replaced, even with overwrite") {
    // A FIFO stands in for /dev/null: as root, a rename over the device
    // would put a regular file in its place.
    const std::string fifo = dir / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto out = AtomicOutput::create(fifo, true);
    REQUIRE(!out.ok());
    CHECK(out.error().kind() == ErrorKind::IO);
    CHECK(out.error().message().rfind(fifo + ": is a FIFO; outputs are written", 0) == 0);
    struct stat st {};
    REQUIRE(::lstat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK(entries(dir.path).size() == 1);
  }
  SUBCASE("a FIFO put in place before commit is not replaced either") {
    const std::string final_path = dir / "out.json";
    auto out = AtomicOutput::create(final_path, true);
    REQUIRE(out.ok());
    REQUIRE(::mkfifo(final_path.c_str(), 0600) == 0);
    auto st = out->commit();
    REQUIRE(!st.ok());
    CHECK(st.error().message().find("is a FIFO") != std::string::npos);
    struct stat sb {};
    REQUIRE(::lstat(final_path.c_str(), &sb) == 0);
    CHECK(S_ISFIFO(sb.st_mode));
  }
  SUBCASE("trailing slash") {
    auto out = AtomicOutput::create(dir.path + "/", false);
    REQUIRE(!out.ok());
    CHECK(out.error().kind() == ErrorKind::IO);
  }
  SUBCASE("parent is a file") {
    write_file(dir / "file", {1});
    auto out = AtomicOutput::create(dir / "file/out", false);
    REQUIRE(!out.ok());
    CHECK(out.error().message().find("is not a directory") != std::string::npos);
  }
}

TEST_CASE("io: ENOSPC at the Nth write is an IO error and leaves nothing") {
  TempDir dir("io");
  std::string final_path = dir / "out.snap";
  auto chunk = pattern(4096);
  {
    FaultGuard guard({fault::Kind::WriteEnospc, 3});
    auto out = AtomicOutput::create(final_path, false);
    REQUIRE(out.ok());
    REQUIRE(out->write_at(chunk, 0).ok());
    REQUIRE(out->write_at(chunk, 4096).ok());
    auto st = out->write_at(chunk, 8192);
    REQUIRE(!st.ok());
    CHECK(st.error().kind() == ErrorKind::IO);
    CHECK(st.error().message() == final_path + ": no space left on device while writing at offset 8192");
  }
  CHECK(!exists(final_path));
  CHECK(entries(dir.path).empty());

  FaultGuard guard({fault::Kind::WriteEio, 1});
  auto out = AtomicOutput::create(final_path, false);
  REQUIRE(out.ok());
  auto st = out->write_at(chunk, 0);
  REQUIRE(!st.ok());
  CHECK(st.error().kind() == ErrorKind::IO);
  CHECK(st.error().message().find("write at offset 0: ") != std::string::npos);
}

TEST_CASE("io: output mode honours the umask") {
  TempDir dir("io");
  mode_t old = ::umask(022);
  auto out = AtomicOutput::create(dir / "out.snap", false);
  auto key = AtomicOutput::create(dir / "key", false, 0600);
  ::umask(077);
  auto strict = AtomicOutput::create(dir / "strict", false);
  ::umask(old);
  REQUIRE(out.ok());
  REQUIRE(key.ok());
  REQUIRE(strict.ok());
  REQUIRE(out->commit().ok());
  REQUIRE(key->commit().ok());
  REQUIRE(strict->commit().ok());
  struct stat st {};
  REQUIRE(::stat((dir / "out.snap").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  REQUIRE(::stat((dir / "key").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat((dir / "strict").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("io: commit works in a nested directory and with a relative path") {
  TempDir dir("io");
  fs::create_directories(dir / "a/b/c");
  std::string final_path = dir / "a/b/c/out.snap";
  auto out = AtomicOutput::create(final_path, false);
  REQUIRE(out.ok());
  REQUIRE(out->write_at(bytes("nested"), 0).ok());
  REQUIRE(out->commit().ok());
  CHECK(read_text(final_path) == "nested");
  CHECK(entries(dir / "a/b/c") == std::vector<std::string>{"out.snap"});

  // A bare file name resolves against the working directory.
  std::string cwd = fs::current_path().string();
  REQUIRE(::chdir(dir.path.c_str()) == 0);
  auto rel = AtomicOutput::create("rel.snap", false);
  Status st = rel.ok() ? rel->commit() : Status(rel.error());
  REQUIRE(::chdir(cwd.c_str()) == 0);
  CHECK(st.ok());
  CHECK(exists(dir / "rel.snap"));
}

// ---- descriptor helpers ----

TEST_CASE("io: open_for_update, write_exact_fd, fsync_fd") {
  TempDir dir("io");
  std::string path = dir / "f";
  write_file(path, {'a', 'b', 'c', 'd'});
  auto fd = open_for_update(path);
  REQUIRE(fd.ok());
  REQUIRE(write_exact_fd(*fd, bytes("XY"), 1, path).ok());
  REQUIRE(fsync_fd(*fd, path).ok());
  ::close(*fd);
  CHECK(read_text(path) == "aXYd");

  auto d = open_for_update(dir.path);
  REQUIRE(!d.ok());
  CHECK(d.error().message().find("is a directory") != std::string::npos);
  std::string fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto p = open_for_update(fifo);
  REQUIRE(!p.ok());
  CHECK(p.error().message().find("is a FIFO") != std::string::npos);

  Error e = errno_error(ErrorKind::IO, "x.snap", "open", ENOENT);
  CHECK(e.kind() == ErrorKind::IO);
  CHECK(e.message() == "x.snap: open: No such file or directory");
}

// ---- interrupt cleanup ----

namespace {

// Runs `body` in a child with stderr captured to `err_path`; returns the raw
// wait status.
template <class F>
int run_child(const std::string& err_path, F body) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0) ::_exit(90);
    body();
    ::_exit(91);  // the signal should have ended the child
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

TEST_CASE("io: SIGTERM/SIGINT remove registered temp files and exit 128+signo") {
  TempDir dir("io");
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    std::string victim = dir / ("partial-" + std::to_string(sig));
    write_file(victim, {1, 2, 3});
    std::string err_path = dir / "stderr.txt";
    int status = run_child(err_path, [&] {
      if (register_temp_path(victim) < 0) ::_exit(92);
      install_interrupt_handlers();
      if (interrupted()) ::_exit(93);
      ::raise(sig);
    });
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + sig);
    CHECK(!exists(victim));
    CHECK(read_text(err_path) == "vramsnap: interrupted, partial output removed\n");
  }
}

TEST_CASE("io: an interrupted AtomicOutput leaves nothing behind") {
  TempDir dir("io");
  std::string out_dir = dir / "out";
  fs::create_directory(out_dir);
  int status = run_child(dir / "stderr.txt", [&] {
    install_interrupt_handlers();
    auto out = AtomicOutput::create(out_dir + "/x.snap", false);
    if (!out.ok() || !out->write_at(bytes("partial"), 0).ok()) ::_exit(92);
    ::raise(SIGTERM);
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 143);
  CHECK(entries(out_dir).empty());
}

TEST_CASE("io: unregistered paths survive an interrupt; slots are finite") {
  TempDir dir("io");
  std::string keep = dir / "keep";
  write_file(keep, {1});
  int status = run_child(dir / "stderr.txt", [&] {
    int slot = register_temp_path(keep);
    if (slot < 0) ::_exit(92);
    unregister_temp_path(slot);
    install_interrupt_handlers();
    ::raise(SIGINT);
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(exists(keep));

  CHECK(register_temp_path(std::string(PATH_MAX, 'a')) == -1);
  CHECK(register_temp_path("") == -1);
  std::vector<int> slots;
  for (int i = 0; i < 1000; ++i) {
    int s = register_temp_path(dir / ("never-" + std::to_string(i)));
    if (s < 0) break;
    slots.push_back(s);
  }
  CHECK(slots.size() >= 16);
  CHECK(slots.size() < 1000);
  CHECK(register_temp_path(dir / "full") == -1);
  unregister_temp_path(slots.back());
  int again = register_temp_path(dir / "again");
  CHECK(again == slots.back());
  slots.back() = again;
  for (int s : slots) unregister_temp_path(s);
  unregister_temp_path(-1);  // ignored
  unregister_temp_path(1 << 20);
}

// ---- VRAMSNAP_FAULT from the environment ----

// Runs only in a re-executed copy of this binary (see the next case): the
// environment plan is read once per process, so it needs a fresh one.
TEST_CASE("io: VRAMSNAP_FAULT child" * doctest::skip()) {
  TempDir dir("io");
  write_file(dir / "in.bin", pattern(100));
  auto in = InputFile::open(dir / "in.bin");
  REQUIRE(in.ok());
  std::vector<uint8_t> buf(10);
  CHECK(in->read_exact(buf, 0).ok());
  auto st = in->read_exact(buf, 0);  // the 2nd read
  REQUIRE(!st.ok());
  CHECK(st.error().kind() == ErrorKind::IO);
  CHECK(in->read_exact(buf, 0).ok());
  // Proves to the parent that this case ran rather than being filtered out.
  if (const char* mark = std::getenv("VRAMSNAP_FAULT_MARK")) write_file(mark, {1});
}

TEST_CASE("io: VRAMSNAP_FAULT=read-eio:2 fails the second read") {
  char exe[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  TempDir dir("io");
  int status = run_child(dir / "stderr.txt", [&] {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::setenv("VRAMSNAP_FAULT", "read-eio:2", 1);
    ::setenv("VRAMSNAP_FAULT_MARK", (dir / "ran").c_str(), 1);
    ::execl(exe, exe, "--no-skip", "--test-case=io: VRAMSNAP_FAULT child", "--no-version", static_cast<char*>(nullptr));
    ::_exit(94);
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(exists(dir / "ran"));
  if (WEXITSTATUS(status) != 0 || !exists(dir / "ran")) MESSAGE(read_text(dir / "stderr.txt"));
}
