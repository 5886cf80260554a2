#pragma once
// How commands find a key: --key-file, else $VRAMSNAP_KEY_FILE, else
// $CREDENTIALS_DIRECTORY/vramsnap.key. `optional_ok`: no key is not an error
// (verify/restore with --allow-unsealed).
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "vramsnap/key.hpp"

namespace vramsnap::cli {

Result<std::optional<Key>> find_key(const std::string& key_file_flag, bool optional_ok);

// Adds --key-file to a subcommand (help text shared by all commands).
void add_key_option(CLI::App* app, std::string& target);

}  // namespace vramsnap::cli
