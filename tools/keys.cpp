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
                  "Key file (32 bytes, mode 0600; made by 'vramsnap keygen'). Default: $VRAMSNAP_KEY_FILE, "
                  "then $CREDENTIALS_DIRECTORY/vramsnap.key. Keys are never taken from argv or the environment "
                  "directly.")
      ->type_name("FILE");
}

}  // namespace vramsnap::cli
