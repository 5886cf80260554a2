// Ed25519 key files: keygen writes a private key (0600) and a public key
// beside it, never overwriting; loading tells the kinds of key file apart and
// refuses each one used in the wrong place; public keys come from files, a
// trusted-keys directory, environment variables or the systemd credential.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

#include "io/key_file.h"

using namespace vtest;
using vramsnap::Key;
using vramsnap::KeyType;

namespace {

unsigned mode_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets or clears an environment variable for one scope.
struct EnvVar {
  std::string name;
  std::optional<std::string> old;
  EnvVar(std::string n, const char* value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    if (value) ::setenv(name.c_str(), value, 1);
    else ::unsetenv(name.c_str());
  }
  ~EnvVar() {
    if (old) ::setenv(name.c_str(), old->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("ed25519 keygen: private 0600 and public beside it, same id, never overwriting") {
  TempDir dir("edkeys");
  CHECK(Key::public_path_for("deploy.key") == "deploy.pub");
  CHECK(Key::public_path_for("/a.b/deploy.key") == "/a.b/deploy.pub");
  CHECK(Key::public_path_for("deploy") == "deploy.pub");
  CHECK(Key::public_path_for("x/.key") == "x/.key.pub");
  const std::string priv = dir / "deploy.key", pub = dir / "deploy.pub";
  const mode_t old = ::umask(0);
  auto id = Key::generate_ed25519(priv, pub);
  ::umask(old);
  REQUIRE_MESSAGE(id.ok(), message_of(id));
  CHECK(id->size() == 16);
  CHECK(mode_of(priv) == 0600);
  CHECK(mode_of(pub) == 0644);
  const Bytes pem = read_file(priv);
  CHECK(contains(std::string(pem.begin(), pem.end()), "-----BEGIN PRIVATE KEY-----"));
  auto k = Key::load(priv);
  REQUIRE_MESSAGE(k.ok(), message_of(k));
  CHECK(k->type() == KeyType::Ed25519Private);
  CHECK(k->id_hex() == *id);
  CHECK(k->can_seal());
  auto p = Key::load_public(pub);
  REQUIRE_MESSAGE(p.ok(), message_of(p));
  CHECK(p->type() == KeyType::Ed25519Public);
  CHECK(p->id_hex() == *id);
  CHECK_FALSE(p->can_seal());
  CHECK(std::string(vramsnap::key_type_name(p->type())) == "ed25519-public");

  // Neither file is replaced, and a refusal leaves nothing new behind.
  const Bytes before = read_file(priv);
  VT_CHECK_ERROR(Key::generate_ed25519(priv, dir / "other.pub"), ErrorKind::IO, "exists");
  CHECK_FALSE(path_exists(dir / "other.pub"));
  VT_CHECK_ERROR(Key::generate_ed25519(dir / "new.key", pub), ErrorKind::IO, "exists");
  CHECK_FALSE(path_exists(dir / "new.key"));
  CHECK(read_file(priv) == before);
  REQUIRE(::symlink("planted", (dir / "link.key").c_str()) == 0);
  VT_CHECK_ERROR(Key::generate_ed25519(dir / "link.key", dir / "link.pub"), ErrorKind::IO, "exists");
  CHECK_FALSE(path_exists(dir / "link.pub"));
}

TEST_CASE("ed25519 key files: each kind refused where it does not belong, with the fix, never the key") {
  TempDir dir("edkeys");
  const std::string priv = dir / "k.key", pub = dir / "k.pub";
  REQUIRE(Key::generate_ed25519(priv, pub).ok());
  const Bytes pem = read_file(priv);
  const std::string pem_text(pem.begin(), pem.end());

  VT_CHECK_ERROR(Key::load(pub), ErrorKind::Usage, "holds a public key, which can check signatures but never seal");
  VT_CHECK_ERROR(Key::load_public(priv), ErrorKind::Usage, "holds a private key");
  const KeyBytes hk = key_bytes(3);
  write_file(dir / "h.key", hk);
  ::chmod((dir / "h.key").c_str(), 0600);
  VT_CHECK_ERROR(Key::load_public(dir / "h.key"), ErrorKind::Usage, "is an HMAC secret key (32 bytes), not a public key");
  write_file(dir / "ssh.pub", std::string_view("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkey comment\n"));
  ::chmod((dir / "ssh.pub").c_str(), 0644);
  VT_CHECK_ERROR(Key::load_public(dir / "ssh.pub"), ErrorKind::Usage, "OpenSSH public key");
  write_file(dir / "enc.key", std::string_view("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"));
  ::chmod((dir / "enc.key").c_str(), 0600);
  VT_CHECK_ERROR(Key::load(dir / "enc.key"), ErrorKind::Usage, "is encrypted");
  write_file(dir / "junk.key", std::string_view("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n"));
  ::chmod((dir / "junk.key").c_str(), 0600);
  VT_CHECK_ERROR(Key::load(dir / "junk.key"), ErrorKind::Usage, "not a readable PEM private key");

  // Loose permissions: a private key like an HMAC key; a public key writable by others.
  REQUIRE(::chmod(priv.c_str(), 0640) == 0);
  auto loose = Key::load(priv);
  VT_CHECK_ERROR(loose, ErrorKind::Usage, "readable by group or others (mode 0640); run: chmod 600");
  CHECK_FALSE(contains(loose.error().message(), pem_text.substr(28, 20)));
  REQUIRE(::chmod(priv.c_str(), 0600) == 0);
  REQUIRE(::chmod(pub.c_str(), 0666) == 0);
  VT_CHECK_ERROR(Key::load_public(pub), ErrorKind::Usage, "writable by group or others (mode 0666); run: chmod 644");
  REQUIRE(::chmod(pub.c_str(), 0644) == 0);
  // Never through a symbolic link.
  REQUIRE(::symlink(priv.c_str(), (dir / "l.key").c_str()) == 0);
  REQUIRE(::symlink(pub.c_str(), (dir / "l.pub").c_str()) == 0);
  VT_CHECK_ERROR(Key::load(dir / "l.key"), ErrorKind::Usage, "is a symbolic link");
  VT_CHECK_ERROR(Key::load_public(dir / "l.pub"), ErrorKind::Usage, "is a symbolic link");
  // A key from OpenSSL's own tools is read (PKCS#8 as `openssl genpkey -algorithm ed25519` writes it).
  write_file(dir / "ossl.key", std::string_view("-----BEGIN PRIVATE KEY-----\n"
                                                "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
                                                "-----END PRIVATE KEY-----\n"));
  ::chmod((dir / "ossl.key").c_str(), 0600);
  auto ossl = Key::load(dir / "ossl.key");
  REQUIRE_MESSAGE(ossl.ok(), message_of(ossl));
  CHECK(ossl->id_hex() == "9f1ce4a508f663bd");  // the seed of spec section 9.4
}

TEST_CASE("ed25519 trusted keys: files, a directory, the environment and the systemd credential") {
  TempDir dir("edkeys");
  REQUIRE(::mkdir((dir / "trusted").c_str(), 0755) == 0);
  std::vector<std::string> ids;
  for (const char* n : {"a", "b"}) {
    auto id = Key::generate_ed25519(dir / (std::string(n) + ".key"), dir / ("trusted/" + std::string(n) + ".pub"));
    REQUIRE(id.ok());
    ids.push_back(*id);
  }
  EnvVar e1("VRAMSNAP_PUBKEY_FILE", nullptr), e2("VRAMSNAP_TRUSTED_KEYS", nullptr), e3("CREDENTIALS_DIRECTORY", nullptr);
  auto none = Key::resolve_public({}, std::nullopt);
  REQUIRE(none.ok());
  CHECK(none->empty());

  auto from_dir = Key::resolve_public({}, dir / "trusted");
  REQUIRE_MESSAGE(from_dir.ok(), message_of(from_dir));
  REQUIRE(from_dir->size() == 2);
  CHECK((*from_dir)[0].id_hex() == ids[0]);
  CHECK((*from_dir)[1].id_hex() == ids[1]);
  // The same key twice counts once.
  auto dup = Key::resolve_public({dir / "trusted/a.pub", dir / "trusted/a.pub"}, std::nullopt);
  REQUIRE(dup.ok());
  CHECK(dup->size() == 1);
  // A directory others may write to would let them add a trusted key.
  REQUIRE(::chmod((dir / "trusted").c_str(), 0777) == 0);
  VT_CHECK_ERROR(Key::resolve_public({}, dir / "trusted"), ErrorKind::Usage, "writable by group or others");
  REQUIRE(::chmod((dir / "trusted").c_str(), 0755) == 0);
  REQUIRE(::mkdir((dir / "empty").c_str(), 0755) == 0);
  VT_CHECK_ERROR(Key::resolve_public({}, dir / "empty"), ErrorKind::Usage, "holds no *.pub file");

  {
    EnvVar f("VRAMSNAP_PUBKEY_FILE", (dir / "trusted/b.pub" + ":" + dir / "trusted/a.pub").c_str());
    auto env = Key::resolve_public({}, std::nullopt);
    REQUIRE_MESSAGE(env.ok(), message_of(env));
    REQUIRE(env->size() == 2);
    CHECK((*env)[0].id_hex() == ids[1]);
    // Flags win over the environment.
    auto flag = Key::resolve_public({dir / "trusted/a.pub"}, std::nullopt);
    REQUIRE(flag.ok());
    CHECK(flag->size() == 1);
  }
  {
    EnvVar d("VRAMSNAP_TRUSTED_KEYS", (dir / "trusted").c_str());
    auto env = Key::resolve_public({}, std::nullopt);
    REQUIRE(env.ok());
    CHECK(env->size() == 2);
  }
  {
    REQUIRE(::mkdir((dir / "creds").c_str(), 0700) == 0);
    EnvVar c("CREDENTIALS_DIRECTORY", (dir / "creds").c_str());
    auto absent = Key::resolve_public({}, std::nullopt);
    REQUIRE(absent.ok());
    CHECK(absent->empty());
    write_file(dir / "creds/vramsnap.pub", read_file(dir / "trusted/a.pub"));
    ::chmod((dir / "creds/vramsnap.pub").c_str(), 0444);
    auto cred = Key::resolve_public({}, std::nullopt);
    REQUIRE_MESSAGE(cred.ok(), message_of(cred));
    REQUIRE(cred->size() == 1);
    CHECK((*cred)[0].id_hex() == ids[0]);
  }
}
