// Directory images: io::list_tree (what capture --tree reads), io::TreeStage
// (all-or-nothing output that never leaves DIR), pipeline::plan_tree (names
// from a file that cannot be paths), and the file-system questions asked
// before an extract (free space, pseudo-files).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "format/snapshot_data.h"
#include "io/fs_query.h"
#include "io/tree_stage.h"
#include "io/tree_walk.h"
#include "pipeline/tree_sink.h"
#include "temp_dir.h"
#include "vramsnap/sources.hpp"

namespace fs = std::filesystem;
using namespace vramsnap;
using vtest::TempDir;

namespace {

void write_file(const std::string& path, const std::string& bytes, unsigned mode = 0644) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

SnapshotData snapshot_named(std::initializer_list<std::pair<std::string, std::string>> names_modes) {
  SnapshotData s;
  s.path = "crafted.snap";
  for (const auto& [name, mode] : names_modes) {
    RegionMeta r;
    r.name = name;
    r.kind = RegionKind::Other;
    if (!mode.empty()) r.labels["mode"] = mode;
    s.regions.push_back(r);
    s.region_ranges.push_back({0, 0});
  }
  return s;
}

std::vector<size_t> all(const SnapshotData& s) {
  std::vector<size_t> v(s.regions.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}

}  // namespace

TEST_CASE("list_tree: regular files in byte order, relative paths, permission bits") {
  TempDir t("tree");
  write_file(t / "img/b.img", "bb", 0600);
  write_file(t / "img/a/x", "x", 0755);
  write_file(t / "img/a.b", "", 0444);
  auto files = io::list_tree(t / "img");
  REQUIRE(files.ok());
  REQUIRE(files->size() == 3);
  CHECK((*files)[0].path == "a.b");
  CHECK((*files)[0].mode == 0444);
  CHECK((*files)[1].path == "a/x");
  CHECK((*files)[1].mode == 0755);
  CHECK((*files)[2].path == "b.img");
  CHECK((*files)[2].size == 2);
  auto regions = regions_from_tree(t / "img");
  REQUIRE(regions.ok());
  CHECK((*regions)[1].meta.name == "a/x");
  CHECK((*regions)[1].meta.labels.at("mode") == "0755");
  CHECK((*regions)[1].meta.kind == RegionKind::Other);
}

TEST_CASE("list_tree: symlinks (inside or out), FIFOs and sockets are refused, naming the entry") {
  TempDir t("tree");
  write_file(t / "img/ok", "1");
  SUBCASE("symlink out") { REQUIRE(::symlink("/etc/passwd", (t / "img/l").c_str()) == 0); }
  SUBCASE("symlink in") { REQUIRE(::symlink("ok", (t / "img/l").c_str()) == 0); }
  SUBCASE("directory symlink") { REQUIRE(::symlink("/", (t / "img/l").c_str()) == 0); }
  SUBCASE("fifo") { REQUIRE(::mkfifo((t / "img/l").c_str(), 0600) == 0); }
  SUBCASE("socket") {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string p = t / "img/l";
    REQUIRE(p.size() < sizeof a.sun_path);
    std::memcpy(a.sun_path, p.c_str(), p.size() + 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);
  }
  auto files = io::list_tree(t / "img");
  REQUIRE_FALSE(files.ok());
  CHECK(files.error().kind() == ErrorKind::IO);
  CHECK(files.error().message().find("img/l") != std::string::npos);
}

TEST_CASE("list_tree: a name that is not a region name is refused by regions_from_tree") {
  TempDir t("tree");
  write_file(t / "img/a\x01" "b", "1");
  auto r = regions_from_tree(t / "img");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind() == ErrorKind::Usage);
}

TEST_CASE("TreeStage: files appear only on commit, with exact modes, and nothing is left on failure") {
  TempDir t("stage");
  const std::string dir = t / "out";
  {
    auto st = io::TreeStage::create(dir);
    REQUIRE(st.ok());
    auto f = st->add_file("a/b/c.img", 4, 0400);
    REQUIRE(f.ok());
    st->park_file(*f);
    REQUIRE(st->write_at(*f, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("abcd"), 4), 0).ok());
    REQUIRE(st->close_file(*f).ok());
    CHECK_FALSE(fs::exists(dir + "/a"));
    // Not committed: the staging tree and the DIR it created both go.
  }
  CHECK_FALSE(fs::exists(dir));
  {
    auto st = io::TreeStage::create(dir);
    REQUIRE(st.ok());
    auto f = st->add_file("a/b/c.img", 4, 0400);
    REQUIRE(f.ok());
    REQUIRE(st->write_at(*f, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("abcd"), 4), 0).ok());
    auto g = st->add_file("top", 0, 0751);
    REQUIRE(g.ok());
    REQUIRE(st->commit().ok());
  }
  CHECK(read_file(dir + "/a/b/c.img") == "abcd");
  struct stat sb {};
  REQUIRE(::stat((dir + "/a/b/c.img").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0400);
  REQUIRE(::stat((dir + "/top").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0751);
  CHECK(fs::is_directory(dir + "/a/b"));
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(dir)) entries += e.path().filename().string().rfind(".vramsnap", 0) == 0 ? 100 : 1;
  CHECK(entries == 2);  // no staging directory left
}

TEST_CASE("TreeStage: an existing DIR stays on failure; an existing top-level name is refused") {
  TempDir t("stage");
  const std::string dir = t / "out";
  fs::create_directories(dir);
  write_file(dir + "/keep", "k");
  {
    auto st = io::TreeStage::create(dir);
    REQUIRE(st.ok());
    CHECK_FALSE(st->check_absent("keep").ok());
    CHECK(st->check_absent("new").ok());
    REQUIRE(st->add_file("new/x", 10, 0644).ok());
  }
  CHECK(fs::exists(dir + "/keep"));
  CHECK_FALSE(fs::exists(dir + "/new"));
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  CHECK(n == 1);
}

TEST_CASE("plan_tree: names from a file that cannot be paths inside DIR are Format errors") {
  for (const char* bad : {"../x", "a/../../b", "/etc/passwd", "a//b", "a/", ".", "a/./b", "a\x1b[2Jb", "a\\b"}) {
    auto s = snapshot_named({{"fine", ""}, {bad, ""}});
    auto p = pipeline::plan_tree(s, all(s));
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().kind() == ErrorKind::Format);
    CHECK(p.error().message().find('\x1b') == std::string::npos);
  }
  auto nul = snapshot_named({{std::string("a\0b", 3), ""}});
  CHECK_FALSE(pipeline::plan_tree(nul, all(nul)).ok());
}

TEST_CASE("plan_tree: a file needed as a directory, duplicate names, bad modes") {
  auto s = snapshot_named({{"a", ""}, {"a-b", ""}, {"a/b", ""}});
  auto p = pipeline::plan_tree(s, all(s));
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().message().find("needs it as a directory") != std::string::npos);
  auto d = snapshot_named({{"x", ""}, {"x", ""}});
  CHECK_FALSE(pipeline::plan_tree(d, all(d)).ok());
  for (const char* mode : {"", "9", "01777", "4755", "rwx", "07777", "12345"}) {
    auto m = snapshot_named({{"x", mode}});
    if (std::string(mode).empty()) m.regions[0].labels["mode"] = "";
    CHECK_FALSE(pipeline::plan_tree(m, all(m)).ok());
  }
  auto ok = snapshot_named({{"x", "0600"}, {"y/z", "755"}, {"w", ""}});
  auto q = pipeline::plan_tree(ok, all(ok));
  REQUIRE(q.ok());
  CHECK((*q)[0].mode == 0600);
  CHECK((*q)[1].mode == 0755);
  CHECK((*q)[2].mode == 0644);
}

TEST_CASE("available_bytes asks the nearest existing ancestor; holds_bytes_past spots pseudo-files") {
  TempDir t("space");
  auto here = io::available_bytes(t.path);
  REQUIRE(here.ok());
  auto deep = io::available_bytes(t / "not/yet/there");
  REQUIRE(deep.ok());
  CHECK(*deep > 0);
  write_file(t / "f", "abc");
  auto exact = io::holds_bytes_past(t / "f", 3);
  REQUIRE(exact.ok());
  CHECK_FALSE(*exact);
  if (fs::exists("/proc/self/status")) {
    auto proc = io::holds_bytes_past("/proc/self/status", 0);
    REQUIRE(proc.ok());
    CHECK(*proc);
  }
}
