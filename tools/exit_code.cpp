#include "exit_code.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <string_view>

#include "terminal.h"
#include "text.h"
#include "vramsnap/runtime.hpp"

namespace vramsnap::cli {
namespace {

bool g_json = false;
std::string g_json_path;

// A library condition, recognised by its kind and a fixed fragment of its
// message (API terms; tests/cli pins each one), and the flag that helps.
struct Hint {
  ErrorKind kind;
  const char* fragment;
  const char* commands;  // space-separated commands that have the flag
  const char* text;
};
constexpr Hint kHints[] = {
    {ErrorKind::IO, " exists and overwriting was not requested", "capture", "pass --force to replace it"},
    {ErrorKind::IO, " exists and overwriting was not requested", "bench",
     "remove it, or write the data to another --write-data FILE"},
    {ErrorKind::Integrity, "snapshot is not sealed", "verify restore bench",
     "seal it with 'vramsnap seal', or pass --allow-unsealed to check structure and hashes only"},
    {ErrorKind::Usage, "no key given", "verify restore",
     "pass --key-file FILE or --pubkey FILE, or set VRAMSNAP_KEY_FILE or VRAMSNAP_PUBKEY_FILE to a key file path, "
     "or provide the systemd credential vramsnap.key or vramsnap.pub"},
    {ErrorKind::Usage, "no key given", "capture seal bench",
     "pass --key-file FILE, or set VRAMSNAP_KEY_FILE to a key file path, or provide the systemd credential "
     "vramsnap.key"},
    {ErrorKind::Integrity, "none of the keys given here can check", "verify restore",
     "a host given only public keys (--pubkey) accepts Ed25519 signatures by them; an HMAC seal is accepted "
     "only with its key (--key-file), an Ed25519 signature only with a --pubkey"},
    {ErrorKind::Usage, "holds a public key, which can check signatures but never seal", "capture seal",
     "sign with the private key (the .key file keygen wrote); hosts that verify get the .pub (--pubkey)"},
    {ErrorKind::Usage, "snapshot is sealed; a key is needed", "verify restore bench",
     "pass --key-file FILE, or --allow-unsealed to check structure and hashes only"},
    {ErrorKind::Usage, "no region named", "restore", "list the regions with 'vramsnap inspect SNAP'"},
    {ErrorKind::Limit, "use a larger chunk size", "capture bench", "pass a larger --chunk-size"},
    {ErrorKind::Usage, "cannot be placed at a fixed address", "restore", "restore without --fixed-va"},
    {ErrorKind::Compat, "restore without fixed addresses", "restore", "restore without --fixed-va"},
    {ErrorKind::Resource, "restore without fixed addresses", "restore",
     "restore without --fixed-va, or before other GPU allocations"},
};

bool has_command(const char* list, std::string_view command) {
  std::string_view l(list);
  for (size_t at = 0; at <= l.size();) {
    size_t end = l.find(' ', at);
    if (end == std::string_view::npos) end = l.size();
    if (l.substr(at, end - at) == command) return true;
    at = end + 1;
  }
  return false;
}

}  // namespace

int exit_code_for(ErrorKind kind) { return error_kind_info(kind).exit_code; }

std::string hint_for(const char* command, const Error& error) {
  for (const auto& h : kHints)
    if (h.kind == error.kind() && error.message().find(h.fragment) != std::string::npos &&
        has_command(h.commands, command))
      return h.text;
  return {};
}

int report_error(const char* command, const Error& error) {
  if (g_json) {
    nlohmann::json j = {{"ok", false},
                        {"failure", {{"kind", to_string(error.kind())}, {"message", error.message()},
                                     {"exit_code", exit_code_for(error.kind())}}}};
    if (!g_json_path.empty()) j["path"] = g_json_path;
    print_json(j.dump(2));
  }
  fmt::print(stderr, "vramsnap {}: {}: {}\n", command, to_string(error.kind()), escaped(error.message()));
  if (const std::string hint = hint_for(command, error); !hint.empty())
    fmt::print(stderr, "vramsnap {}: hint: {}\n", command, hint);
  return exit_code_for(error.kind());
}

void report_failures_as_json(const std::string& path) {
  g_json = true;
  g_json_path = path;
  report_interrupt_as_json(true);
}

int finish_stdout(const char* command, int exit_code) {
  errno = 0;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout);
  if (!failed) return exit_code;
  const int err = errno ? errno : EIO;
  std::clearerr(stdout);
  g_json = false;  // stdout is what failed
  const int rc = report_error(command, errno_error(ErrorKind::IO, "stdout", "write failed", err));
  return exit_code == kExitOk ? rc : exit_code;
}

}  // namespace vramsnap::cli
