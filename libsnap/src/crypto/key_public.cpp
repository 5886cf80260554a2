// Ed25519 key pairs on disk: creating them, loading public keys, and finding
// the public keys a host trusts (files, a directory, environment, systemd
// credential). Public keys are not secret, but they decide what a host
// accepts, so their files must be writable by their owner only.
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "crypto/key.h"
#include "vramsnap/key.hpp"
#include "io/key_file.h"

namespace vramsnap::crypto {
namespace {

constexpr size_t kMaxPublicKeyFile = 4096;
constexpr const char* kPublicWhat =
    "a public key file is a regular PEM file (make a pair with: vramsnap keygen --type ed25519 -o FILE)";

Result<Key> load_public_key(const std::string& path, io::KeyOrigin origin) {
  io::KeyFileRules rules;
  rules.origin = origin;
  rules.secrecy = io::KeySecrecy::Public;
  rules.max_size = kMaxPublicKeyFile;
  rules.what = kPublicWhat;
  VRAMSNAP_ASSIGN_OR_RETURN(auto bytes, io::read_key_file(path, rules));
  switch (classify_key_file(bytes.view())) {
    case KeyFileContent::PemPublic: {
      VRAMSNAP_ASSIGN_OR_RETURN(auto pkey, parse_public_pem(bytes.view(), path));
      return Key::ed25519_public_from_raw(raw_public(pkey.get()));
    }
    case KeyFileContent::HmacSecret:
      return make_error(ErrorKind::Usage, fmt::format("key file {} is an HMAC secret key (32 bytes), not a public key; "
                                                      "a secret key is never accepted as a public key", path));
    case KeyFileContent::PemPrivate:
    case KeyFileContent::PemEncryptedPrivate:
      return make_error(ErrorKind::Usage, fmt::format("key file {} holds a private key; hosts that only verify get "
                                                      "the public key (the .pub file keygen wrote beside it)", path));
    case KeyFileContent::OpenSshPublic:
      return make_error(ErrorKind::Usage, fmt::format("key file {} is an OpenSSH public key; vramsnap reads PEM "
                                                      "public keys only (a key that logs in over SSH should not "
                                                      "also sign snapshots)", path));
    case KeyFileContent::Other:
      break;
  }
  return make_error(ErrorKind::Usage, fmt::format("key file {} is not a PEM public key (-----BEGIN PUBLIC KEY-----)",
                                                  path));
}

Status add_directory(const std::string& dir, std::vector<std::string>& files) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto names, io::list_key_directory(dir, ".pub"));
  if (names.empty())
    return make_error(ErrorKind::Usage, fmt::format("trusted-keys directory {} holds no *.pub file", dir));
  for (const auto& n : names) files.push_back(dir + "/" + n);
  return {};
}

void split_paths(const char* list, std::vector<std::string>& out) {
  std::string_view s(list);
  while (!s.empty()) {
    const size_t colon = s.find(':');
    const std::string_view part = s.substr(0, colon);
    if (!part.empty()) out.emplace_back(part);
    if (colon == std::string_view::npos) break;
    s.remove_prefix(colon + 1);
  }
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

Result<Key> Key::load_public(const std::string& path) { return load_public_key(path, io::KeyOrigin::Operator); }

Result<std::vector<Key>> Key::resolve_public(const std::vector<std::string>& files,
                                             const std::optional<std::string>& dir) {
  std::vector<std::string> paths = files;
  io::KeyOrigin origin = io::KeyOrigin::Operator;
  if (dir) VRAMSNAP_TRY(add_directory(*dir, paths));
  if (files.empty() && !dir) {
    const char* env_files = env("VRAMSNAP_PUBKEY_FILE");
    const char* env_dir = env("VRAMSNAP_TRUSTED_KEYS");
    if (env_files) split_paths(env_files, paths);
    if (env_dir) VRAMSNAP_TRY(add_directory(env_dir, paths));
    if (!env_files && !env_dir) {
      if (const char* creds = env("CREDENTIALS_DIRECTORY")) {
        const std::string p = std::string(creds) + "/vramsnap.pub";
        if (io::path_exists(p)) {
          paths.push_back(p);
          origin = io::KeyOrigin::SystemdCredential;
        }
      }
    }
  }
  std::vector<Key> keys;
  for (const auto& p : paths) {
    if (p.empty()) return make_error(ErrorKind::Usage, "a public key path is empty");
    VRAMSNAP_ASSIGN_OR_RETURN(auto k, load_public_key(p, origin));
    bool seen = false;
    for (const auto& have : keys) seen = seen || have.id() == k.id();
    if (!seen) keys.push_back(std::move(k));
  }
  return keys;
}

std::string public_key_path(const std::string& private_path) {
  static constexpr std::string_view kKey = ".key";
  const std::string_view p(private_path);
  const size_t slash = p.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? p : p.substr(slash + 1);
  if (base.size() > kKey.size() && base.substr(base.size() - kKey.size()) == kKey)
    return std::string(p.substr(0, p.size() - kKey.size())) + ".pub";
  return private_path + ".pub";
}

Result<KeyId> generate_ed25519_key_files(const std::string& private_path, const std::string& public_path) {
  if (public_path == private_path)
    return make_error(ErrorKind::Usage, "the private and the public key file must differ");
  // Checked first so that a refusal leaves nothing behind.
  if (io::path_exists(public_path))
    return make_error(ErrorKind::IO, fmt::format("{} exists; refusing to overwrite a key (remove it first if you "
                                                 "really mean to replace it)", public_path));
  Pkey pkey = generate_ed25519();
  const io::SecretBytes priv = private_pem(pkey.get());
  const std::string pub = public_pem(pkey.get());
  VRAMSNAP_TRY(io::create_key_file(private_path, priv.view(), 0600));
  Status st = io::create_key_file(
      public_path, {reinterpret_cast<const uint8_t*>(pub.data()), pub.size()}, 0644);
  if (!st.ok()) {
    io::remove_created_file(private_path);
    return std::move(st).error();
  }
  return ed25519_key_id(raw_public(pkey.get()));
}

}  // namespace vramsnap::crypto
