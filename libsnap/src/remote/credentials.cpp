// Token and registry-login files. Read through io::read_key_file, so the
// same rules as for keys hold: a regular file we own, mode 0600 or stricter,
// bounded size; the bytes are wiped after use.
#include "remote/credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/key_file.h"

namespace vramsnap::remote {
namespace {

constexpr size_t kMaxToken = 16 * 1024;
constexpr size_t kMaxConfig = 1024 * 1024;

// base64 "user:password" -> Auth (Basic). The decoded copy is wiped.
std::optional<Auth> decode_basic(const std::string& b64) {
  if (b64.empty() || b64.size() > 8192 || b64.size() % 4 != 0) return std::nullopt;
  std::string out(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  std::optional<Auth> a;
  if (n >= 0) {
    size_t len = static_cast<size_t>(n);
    for (size_t i = b64.size(); i > 0 && b64[i - 1] == '=' && len > 0; --i) --len;
    const std::string_view text(out.data(), len);
    const auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      a.emplace();
      a->kind = Auth::Kind::Basic;
      a->user = std::string(text.substr(0, colon));
      a->password = std::string(text.substr(colon + 1));
    }
  }
  OPENSSL_cleanse(out.data(), out.size());
  return a;
}

bool printable_token(const std::string& s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return !s.empty();
}

}  // namespace

Result<std::shared_ptr<const Auth>> load_bearer(const RemoteOptions& o) {
  std::string path = o.auth_file;
  if (path.empty())
    if (const char* env = std::getenv("VRAMSNAP_AUTH_FILE"); env && *env) path = env;
  if (path.empty()) return std::shared_ptr<const Auth>();
  io::KeyFileRules rules;
  rules.max_size = kMaxToken;
  rules.what = "a token file is a regular file";
  VRAMSNAP_ASSIGN_OR_RETURN(auto bytes, io::read_key_file(path, rules));
  auto a = std::make_shared<Auth>();
  a->kind = Auth::Kind::Bearer;
  a->token.assign(reinterpret_cast<const char*>(bytes.view().data()), bytes.size());
  while (!a->token.empty() && (a->token.back() == '\n' || a->token.back() == '\r' || a->token.back() == ' '))
    a->token.pop_back();
  if (!printable_token(a->token))
    return Error(ErrorKind::Usage, fmt::format("{}: a token file holds one token of printable characters (no spaces)",
                                               path));
  return std::shared_ptr<const Auth>(std::move(a));
}

Result<std::optional<Auth>> load_registry_login(const RemoteOptions& o, const std::string& registry) {
  std::string path = o.registry_config;
  if (path.empty()) {
    if (const char* dc = std::getenv("DOCKER_CONFIG"); dc && *dc) path = std::string(dc) + "/config.json";
    else if (const char* home = std::getenv("HOME"); home && *home) path = std::string(home) + "/.docker/config.json";
    else return std::optional<Auth>();
    if (!io::path_exists(path)) return std::optional<Auth>();
  }
  io::KeyFileRules rules;
  rules.max_size = kMaxConfig;
  rules.what = "a registry config is a regular file";
  // A file that is there is judged by the rules even when not named: a
  // login readable by others is a leak to fix, not to skip silently.
  VRAMSNAP_ASSIGN_OR_RETURN(auto bytes, io::read_key_file(path, rules));
  auto j = nlohmann::json::parse(bytes.view().begin(), bytes.view().end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorKind::Usage, path + ": not a JSON object (expected a docker config.json)");
  auto auths = j.find("auths");
  if (auths == j.end() || !auths->is_object()) return std::optional<Auth>();
  for (const std::string& key : {registry, "https://" + registry, "http://" + registry, "https://" + registry + "/v1/",
                                 "https://" + registry + "/v2/"}) {
    auto e = auths->find(key);
    if (e == auths->end() || !e->is_object()) continue;
    if (auto a = e->find("auth"); a != e->end() && a->is_string()) {
      auto basic = decode_basic(a->get<std::string>());
      if (!basic) return Error(ErrorKind::Usage, fmt::format("{}: the login for {} is not base64 of user:password", path,
                                                             registry));
      return std::optional<Auth>(std::move(*basic));
    }
    auto u = e->find("username");
    auto p = e->find("password");
    if (u != e->end() && p != e->end() && u->is_string() && p->is_string()) {
      Auth a;
      a.kind = Auth::Kind::Basic;
      a.user = u->get<std::string>();
      a.password = p->get<std::string>();
      return std::optional<Auth>(std::move(a));
    }
  }
  return std::optional<Auth>();
}

}  // namespace vramsnap::remote
