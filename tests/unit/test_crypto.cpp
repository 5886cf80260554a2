#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/digest.h"
#include "crypto/key.h"
#include "temp_dir.h"

using namespace vramsnap;
using namespace vramsnap::crypto;
using vtest::TempDir;

namespace {

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::vector<uint8_t> from_hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::array<uint8_t, kKeySize> key_array(std::span<const uint8_t> b) {
  REQUIRE(b.size() == kKeySize);
  std::array<uint8_t, kKeySize> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

// HMAC pads a short key with zeros to the 64-byte block and hashes a long one
// down to 32 bytes, so every RFC 4231 key has an equivalent 32-byte key.
Key rfc_key_short(std::span<const uint8_t> k) {
  std::array<uint8_t, kKeySize> a{};
  REQUIRE(k.size() <= kKeySize);
  std::copy(k.begin(), k.end(), a.begin());
  return Key::from_bytes(a);
}


void write_file(const std::string& path, std::span<const uint8_t> data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  REQUIRE(::close(fd) == 0);
  REQUIRE(::chmod(path.c_str(), mode) == 0);  // exact, whatever the umask
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::vector<uint8_t> out(4096);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const ssize_t n = ::read(fd, out.data(), out.size());
  ::close(fd);
  REQUIRE(n >= 0);
  out.resize(static_cast<size_t>(n));
  return out;
}

// Printable key bytes, so a leak of the raw key into a message is findable.
const std::string kPrintableKey = "vramsnap-test-key-0123456789ABCD";  // 32 bytes

Error load_error(const std::string& path) {
  auto r = Key::load(path);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

void check_no_key_leak(const Error& e, std::span<const uint8_t> content) {
  const std::string& m = e.message();
  const std::string raw(content.begin(), content.end());
  CHECK(m.find(raw.substr(0, std::min<size_t>(raw.size(), kKeySize))) == std::string::npos);
  CHECK(m.find(to_hex(content.first(std::min<size_t>(content.size(), kKeySize)))) == std::string::npos);
  CHECK(m.find(to_hex(content.first(std::min<size_t>(content.size(), 8)))) == std::string::npos);
}

// Saves and clears the key environment; restores it afterwards.
class EnvGuard {
 public:
  EnvGuard() {
    for (auto& [name, saved] : vars_) {
      if (const char* v = std::getenv(name)) saved = v;
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    for (auto& [name, saved] : vars_) {
      if (saved) ::setenv(name, saved->c_str(), 1);
      else ::unsetenv(name);
    }
  }

 private:
  std::pair<const char*, std::optional<std::string>> vars_[2] = {{"VRAMSNAP_KEY_FILE", {}},
                                                                   {"CREDENTIALS_DIRECTORY", {}}};
};

}  // namespace

TEST_CASE("sha256 known answers") {
  CHECK(to_hex(sha256({})) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha256(as_bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_hex(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

  const std::string million(1000000, 'a');
  const char* kMillion = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  CHECK(to_hex(sha256(as_bytes(million))) == kMillion);
  Sha256 h;
  for (size_t off = 0; off < million.size(); off += 999) {
    h.update(as_bytes(std::string_view(million).substr(off, 999)));
  }
  CHECK(to_hex(h.finish()) == kMillion);
}

TEST_CASE("incremental sha256 equals one-shot at any split") {
  std::mt19937 rng(12345);
  std::vector<uint8_t> data(10000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  Sha256 h;  // reused across iterations: finish() must reset
  for (int iter = 0; iter < 300; ++iter) {
    const size_t len = std::uniform_int_distribution<size_t>(0, data.size())(rng);
    const std::span<const uint8_t> msg(data.data(), len);
    size_t pos = 0;
    while (pos < len) {
      const size_t piece = std::uniform_int_distribution<size_t>(0, std::min<size_t>(len - pos, 300))(rng);
      h.update(msg.subspan(pos, piece));  // includes empty updates
      pos += piece;
    }
    REQUIRE(h.finish() == sha256(msg));
  }
  CHECK(to_hex(h.finish()) == to_hex(sha256({})));  // fresh after finish
}

TEST_CASE("sha256 from several threads at once") {
  const std::string msg(100000, 'x');
  const Digest want = sha256(as_bytes(msg));
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (size_t t = 0; t < ok.size(); ++t) {
    threads.emplace_back([&, t] {
      int good = 1;
      for (int i = 0; i < 50; ++i) good &= sha256(as_bytes(msg)) == want ? 1 : 0;
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(std::count(ok.begin(), ok.end(), 1) == static_cast<long>(ok.size()));
}

TEST_CASE("equal_ct and to_hex") {
  const uint8_t a[] = {1, 2, 3, 4};
  const uint8_t b[] = {1, 2, 3, 5};
  CHECK(equal_ct(a, a, 4));
  CHECK_FALSE(equal_ct(a, b, 4));
  CHECK(equal_ct(a, b, 3));
  CHECK(equal_ct(a, b, 0));
  const uint8_t h[] = {0x00, 0xff, 0x0a, 0xb1};
  CHECK(to_hex(h) == "00ff0ab1");
  CHECK(to_hex({}) == "");
}

TEST_CASE("hmac-sha256: RFC 4231 cases 1, 2 and 6") {
  SUBCASE("case 1") {
    const std::vector<uint8_t> k(20, 0x0b);
    CHECK(to_hex(hmac_sha256(rfc_key_short(k), {as_bytes("Hi There")})) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
  SUBCASE("case 2") {
    CHECK(to_hex(hmac_sha256(rfc_key_short(as_bytes("Jefe")), {as_bytes("what do ya want for nothing?")})) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  SUBCASE("case 6 (131-byte key, hashed first)") {
    const std::vector<uint8_t> k(131, 0xaa);
    const Digest hashed = sha256(k);
    CHECK(to_hex(hmac_sha256(Key::from_bytes(hashed),
                             {as_bytes("Test Using Larger Than Block-Size Key - Hash Key First")})) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  }
}

TEST_CASE("hmac-sha256 with a 32-byte key matches openssl dgst") {
  // Expected value from: printf '%s' 'The quick brown fox jumps over the lazy dog' |
  //   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1e1f (the key below)
  const auto k = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Key key = Key::from_bytes(key_array(k));
  CHECK(to_hex(hmac_sha256(key, {as_bytes("The quick brown fox jumps over the lazy dog")})) ==
        "f87ad256151fc7b4c5dffa4adb3ebe911a8eeb8a8ebdee3c2a4a8e5f5ec02c32");
}

TEST_CASE("hmac-sha256 over parts equals over the concatenation") {
  const auto k = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Key key = Key::from_bytes(key_array(k));
  const std::string msg = "The quick brown fox jumps over the lazy dog";
  const Digest whole = hmac_sha256(key, {as_bytes(msg)});
  const std::string_view v(msg);
  for (size_t i = 0; i <= msg.size(); ++i) {
    for (size_t j = i; j <= msg.size(); j += 7) {
      REQUIRE(hmac_sha256(key, {as_bytes(v.substr(0, i)), as_bytes(v.substr(i, j - i)), as_bytes(v.substr(j))}) ==
              whole);
    }
  }
  CHECK(hmac_sha256(key, {}) == hmac_sha256(key, {as_bytes("")}));
  CHECK(hmac_sha256(key, {}) != hmac_sha256(Key::from_bytes(sha256(k)), {}));
}

TEST_CASE("key id: stable, 16 lowercase hex digits, pinned derivation") {
  const auto k = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Key a = Key::from_bytes(key_array(k));
  const Key b = Key::from_bytes(key_array(k));
  CHECK(a.id() == b.id());
  // { printf 'vramsnap/v1/key-id\0'; printf '<key bytes>'; } | sha256sum | cut -c1-16
  CHECK(a.id_hex() == "3374bb01a1dc8e1e");
  CHECK(key_id_hex(a.id()) == a.id_hex());
  CHECK(a.id_hex().size() == 16);
  CHECK(a.id_hex().find_first_not_of("0123456789abcdef") == std::string::npos);
  const Key c = Key::from_bytes(sha256(k));
  CHECK(c.id_hex() != a.id_hex());
}

TEST_CASE("moving a key wipes the source") {
  const auto k = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  Key a = Key::from_bytes(key_array(k));
  const std::string id = a.id_hex();
  Key b = std::move(a);
  CHECK(std::all_of(a.bytes().begin(), a.bytes().end(), [](uint8_t x) { return x == 0; }));  // NOLINT(bugprone-use-after-move)
  CHECK(std::equal(b.bytes().begin(), b.bytes().end(), k.begin()));
  CHECK(b.id_hex() == id);
  Key c = Key::from_bytes(sha256(k));
  c = std::move(b);
  CHECK(std::all_of(b.bytes().begin(), b.bytes().end(), [](uint8_t x) { return x == 0; }));  // NOLINT(bugprone-use-after-move)
  CHECK(std::equal(c.bytes().begin(), c.bytes().end(), k.begin()));
  CHECK(c.id_hex() == id);
}

TEST_CASE("generate_key_file") {
  TempDir dir("crypto");
  const std::string path = dir / "k";
  // A restrictive umask would leave 0400; the file must still be 0600.
  const mode_t old_umask = ::umask(0277);
  auto id = generate_key_file(path);
  ::umask(old_umask);
  REQUIRE(id.ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_size == 32);
  auto key = Key::load(path);
  REQUIRE(key.ok());
  CHECK(key->id() == *id);

  SUBCASE("refuses to overwrite") {
    const auto before = read_file(path);
    auto again = generate_key_file(path);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind() == ErrorKind::IO);
    CHECK(again.error().message() ==
          path + " exists; refusing to overwrite a key (remove it first if you really mean to replace it)");
    CHECK(read_file(path) == before);
  }
  SUBCASE("two keys differ") {
    auto other = generate_key_file(dir / "k2");
    REQUIRE(other.ok());
    CHECK(*other != *id);
    CHECK(read_file(dir / "k2") != read_file(path));
  }
  SUBCASE("does not follow a planted symlink") {
    REQUIRE(::symlink((dir / "target").c_str(), (dir / "link").c_str()) == 0);
    auto r = generate_key_file(dir / "link");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::IO);
    CHECK_FALSE(std::filesystem::exists(dir / "target"));
  }
  SUBCASE("missing directory") {
    auto r = generate_key_file(dir / "no/such/dir/k");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::IO);
    CHECK(r.error().message().find("cannot create key file") != std::string::npos);
  }
}

TEST_CASE("Key::load accepts a private 32-byte file") {
  TempDir dir("crypto");
  const auto content = as_bytes(kPrintableKey);
  const Key want = Key::from_bytes(key_array(content));
  for (const auto& c : {std::pair<mode_t, const char*>{0600, "k0600"}, {0400, "k0400"}}) {
    CAPTURE(c.second);
    const std::string path = dir / c.second;
    write_file(path, content, c.first);
    auto k = Key::load(path);
    REQUIRE(k.ok());
    CHECK(std::equal(k->bytes().begin(), k->bytes().end(), content.begin()));
    CHECK(k->id() == want.id());
  }
  // Symlinks are refused (O_NOFOLLOW): a link could be redirected to another key.
  REQUIRE(::symlink((dir / "k0600").c_str(), (dir / "link").c_str()) == 0);
  auto k = Key::load(dir / "link");
  REQUIRE(!k.ok());
  CHECK(k.error().kind() == ErrorKind::Usage);
  CHECK(k.error().message().find("is a symbolic link") != std::string::npos);
}

TEST_CASE("Key::load refuses bad key files with the fix and without the key") {
  TempDir dir("crypto");
  const auto key = as_bytes(kPrintableKey);

  SUBCASE("missing") {
    const std::string p = dir / "missing";
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::IO);
    CHECK(e.message() == "cannot open key file " + p + ": No such file or directory");
  }
  SUBCASE("empty") {
    const std::string p = dir / "empty";
    write_file(p, {}, 0600);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message().rfind("key file " + p + " is empty", 0) == 0);
    CHECK(e.message().find("vramsnap keygen -o FILE") != std::string::npos);
  }
  SUBCASE("31 bytes") {
    const std::string p = dir / "short";
    write_file(p, key.first(31), 0600);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message() == "key file " + p +
                             " has 31 bytes; a vramsnap key has exactly 32 (create one with: vramsnap keygen -o FILE)");
    check_no_key_leak(e, key.first(31));
  }
  SUBCASE("33 bytes") {
    const std::string p = dir / "long";
    const std::string content = kPrintableKey + "!";
    write_file(p, as_bytes(content), 0600);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message().find("has 33 bytes") != std::string::npos);
    check_no_key_leak(e, as_bytes(content));
  }
  SUBCASE("group readable 0640") {
    const std::string p = dir / "k640";
    write_file(p, key, 0640);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message() == "key file " + p + " is readable by group or others (mode 0640); run: chmod 600 " + p);
    check_no_key_leak(e, key);
  }
  SUBCASE("world readable 0604") {
    const std::string p = dir / "k604";
    write_file(p, key, 0604);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message() == "key file " + p + " is readable by group or others (mode 0604); run: chmod 600 " + p);
    check_no_key_leak(e, key);
  }
  SUBCASE("group writable 0620") {
    const std::string p = dir / "k620";
    write_file(p, key, 0620);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message().find("writable or executable by group or others (mode 0620)") != std::string::npos);
  }
  SUBCASE("path needing shell quotes in the fix") {
    const std::string p = dir / "my key";
    write_file(p, key, 0644);
    const Error e = load_error(p);
    CHECK(e.message().find("run: chmod 600 '" + p + "'") != std::string::npos);
  }
  SUBCASE("a directory") {
    const std::string p = dir / "d";
    REQUIRE(::mkdir(p.c_str(), 0700) == 0);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message().rfind("key file " + p + " is a directory;", 0) == 0);
  }
  SUBCASE("a FIFO (must not block)") {
    const std::string p = dir / "fifo";
    REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message().rfind("key file " + p + " is a FIFO;", 0) == 0);
  }
  SUBCASE("owned by another user") {
    if (::geteuid() != 0) {
      MESSAGE("skipped: changing a file's owner needs root");
      return;
    }
    const std::string p = dir / "theirs";
    write_file(p, key, 0600);
    REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
    const Error e = load_error(p);
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(e.message().rfind("key file " + p + " is owned by uid 65534, not by you (uid 0)", 0) == 0);
    check_no_key_leak(e, key);
  }
}

TEST_CASE("Key::resolve precedence") {
  EnvGuard env;
  TempDir dir("crypto");
  const auto ka = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Digest kb = sha256(ka);
  const Digest kc = sha256(kb);
  write_file(dir / "a", ka, 0600);
  write_file(dir / "b", kb, 0600);
  REQUIRE(::mkdir((dir / "creds").c_str(), 0700) == 0);
  write_file(dir / "creds/vramsnap.key", kc, 0400);
  const std::string id_a = Key::from_bytes(key_array(ka)).id_hex();
  const std::string id_b = Key::from_bytes(kb).id_hex();
  const std::string id_c = Key::from_bytes(kc).id_hex();

  SUBCASE("nothing set") {
    auto r = Key::resolve(std::nullopt);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
    CHECK(r.error().message() ==
          "no key given: no key file named, VRAMSNAP_KEY_FILE unset or empty, and no systemd credential "
          "vramsnap.key");
  }
  SUBCASE("credential only") {
    ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
    auto r = Key::resolve(std::nullopt);
    REQUIRE(r.ok());
    CHECK(r->id_hex() == id_c);
  }
  SUBCASE("VRAMSNAP_KEY_FILE beats the credential") {
    ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
    ::setenv("VRAMSNAP_KEY_FILE", (dir / "b").c_str(), 1);
    auto r = Key::resolve(std::nullopt);
    REQUIRE(r.ok());
    CHECK(r->id_hex() == id_b);
  }
  SUBCASE("--key-file beats both") {
    ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
    ::setenv("VRAMSNAP_KEY_FILE", (dir / "b").c_str(), 1);
    auto r = Key::resolve(dir / "a");
    REQUIRE(r.ok());
    CHECK(r->id_hex() == id_a);
  }
  SUBCASE("a broken VRAMSNAP_KEY_FILE is an error, not a fallback") {
    ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
    ::setenv("VRAMSNAP_KEY_FILE", (dir / "missing").c_str(), 1);
    auto r = Key::resolve(std::nullopt);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::IO);
    CHECK(r.error().message().find(dir / "missing") != std::string::npos);
  }
  SUBCASE("empty VRAMSNAP_KEY_FILE counts as unset") {
    ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
    ::setenv("VRAMSNAP_KEY_FILE", "", 1);
    auto r = Key::resolve(std::nullopt);
    REQUIRE(r.ok());
    CHECK(r->id_hex() == id_c);
  }
  SUBCASE("credentials directory without vramsnap.key") {
    REQUIRE(::mkdir((dir / "other-creds").c_str(), 0700) == 0);
    ::setenv("CREDENTIALS_DIRECTORY", (dir / "other-creds").c_str(), 1);
    auto r = Key::resolve(std::nullopt);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
    CHECK(r.error().message().rfind("no key given: ", 0) == 0);
    CHECK(r.error().message().find("has no vramsnap.key") != std::string::npos);
  }
  SUBCASE("systemd credential with an ACL mask (group bits) is accepted, not by --key-file") {
    // systemd grants a User= service read access through an ACL, which shows
    // as group bits; the credential directory itself is private to the unit.
    REQUIRE(::chmod((dir / "creds/vramsnap.key").c_str(), 0440) == 0);
    ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
    auto r = Key::resolve(std::nullopt);
    REQUIRE(r.ok());
    CHECK(r->id_hex() == id_c);
    CHECK_FALSE(Key::load(dir / "creds/vramsnap.key").ok());
    REQUIRE(::chmod((dir / "creds/vramsnap.key").c_str(), 0404) == 0);
    auto world = Key::resolve(std::nullopt);
    REQUIRE_FALSE(world.ok());
    CHECK(world.error().message().find("readable by others (mode 0404)") != std::string::npos);
  }
  SUBCASE("empty --key-file") {
    auto r = Key::resolve(std::string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
  }
}
