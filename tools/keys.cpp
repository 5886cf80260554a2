#include "keys.h"

#include <unistd.h>

#include <cstdlib>

namespace vramsnap::cli {

Result<std::optional<Key>> find_key(const std::string& key_file_flag, bool optional_ok) {
  // With --allow-unsealed a missing key is fine; a systemd credentials
  // directory without vramsnap.key counts as "no key", not as an error.
  bool have_source = !key_file_flag.empty() || std::getenv("VRAMSNAP_KEY_FILE");
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds && !have_source)
    have_source = ::access((std::string(creds) + "/vramsnap.key").c_str(), F_OK) == 0 || !optional_ok;
  if (!have_source && optional_ok) return std::optional<Key>{};
  std::optional<std::string> flag;
  if (!key_file_flag.empty()) flag = key_file_flag;
  VRAMSNAP_ASSIGN_OR_RETURN(auto key, Key::resolve(flag));
  return std::optional<Key>(std::move(key));
}

void add_key_option(CLI::App* app, std::string& target) {
  app->add_option("--key-file", target,
                  "Secret key file: 32-byte HMAC key (mode 0600; 'vramsnap keygen') or Ed25519 private key "
                  "(PEM; 'vramsnap keygen --type ed25519'). Default: $VRAMSNAP_KEY_FILE, "
                  "then $CREDENTIALS_DIRECTORY/vramsnap.key. Keys are never taken from argv or the environment "
                  "directly.")
      ->type_name("FILE");
}

void add_public_key_options(CLI::App* app, PublicKeyFlags& target) {
  app->add_option("--pubkey", target.files,
                  "Trusted Ed25519 public key (PEM, as 'vramsnap keygen --type ed25519' writes it); repeatable: "
                  "any listed key may have signed. With public keys, HMAC-sealed files are refused unless "
                  "--key-file is also given, and unsealed ones unless --allow-unsealed. Default: "
                  "$VRAMSNAP_PUBKEY_FILE (paths separated by ':'), $VRAMSNAP_TRUSTED_KEYS, then "
                  "$CREDENTIALS_DIRECTORY/vramsnap.pub")
      ->type_name("FILE");
  app->add_option("--trusted-keys", target.directory,
                  "Directory of trusted public keys: every *.pub in it (the directory must be writable by its "
                  "owner only)")
      ->type_name("DIR");
}

Result<CheckKeys> find_check_keys(const std::string& key_file_flag, const PublicKeyFlags& pub, bool allow_unsealed) {
  CheckKeys out;
  std::optional<std::string> dir;
  if (!pub.directory.empty()) dir = pub.directory;
  VRAMSNAP_ASSIGN_OR_RETURN(out.trusted, Key::resolve_public(pub.files, dir));
  VRAMSNAP_ASSIGN_OR_RETURN(out.key, find_key(key_file_flag, allow_unsealed || !out.trusted.empty()));
  return out;
}

std::string seal_words(const SealInfo& s) {
  switch (s.state) {
    case SealState::Unsealed: return "unsealed";
    case SealState::HmacSha256: return "sealed (HMAC-SHA256, key " + s.key_id_hex + ")";
    case SealState::Ed25519: return "signed (Ed25519, key " + s.key_id_hex + ")";
  }
  return "sealed (" + s.algorithm + ", key " + s.key_id_hex + ")";
}

std::string seal_state_name(const SealInfo& s) {
  return s.state == SealState::Unsealed ? std::string("unsealed") : s.algorithm;
}

}  // namespace vramsnap::cli
