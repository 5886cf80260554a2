#pragma once
// How commands find their keys. A secret key (HMAC or Ed25519 private):
// --key-file, else $VRAMSNAP_KEY_FILE, else $CREDENTIALS_DIRECTORY/vramsnap.key.
// Public keys (verify, restore): --pubkey (repeatable) and --trusted-keys DIR,
// else $VRAMSNAP_PUBKEY_FILE and $VRAMSNAP_TRUSTED_KEYS, else
// $CREDENTIALS_DIRECTORY/vramsnap.pub. `optional_ok`: no key is not an error
// (verify/restore with --allow-unsealed, or with public keys).
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vramsnap/key.hpp"
#include "vramsnap/snapshot.hpp"

namespace vramsnap::cli {

Result<std::optional<Key>> find_key(const std::string& key_file_flag, bool optional_ok);

// Adds --key-file to a subcommand (help text shared by all commands).
void add_key_option(CLI::App* app, std::string& target);

struct PublicKeyFlags {
  std::vector<std::string> files;  // --pubkey
  std::string directory;           // --trusted-keys
};
void add_public_key_options(CLI::App* app, PublicKeyFlags& target);

// Every key a check trusts: the secret key if one is configured (required
// unless public keys are, or unsealed files are allowed) and the public keys.
struct CheckKeys {
  std::optional<Key> key;
  std::vector<Key> trusted;
};
Result<CheckKeys> find_check_keys(const std::string& key_file_flag, const PublicKeyFlags& pub, bool allow_unsealed);

// "sealed (HMAC-SHA256, key K)", "signed (Ed25519, key K)", "unsealed".
std::string seal_words(const SealInfo& s);
// The JSON "state" of a seal: "unsealed" or the algorithm's name.
std::string seal_state_name(const SealInfo& s);

}  // namespace vramsnap::cli
