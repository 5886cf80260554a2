// The registry token flow. The token endpoint (the challenge's realm) is
// held to the same scheme rules as the registry, its answer is bounded JSON,
// and the login goes only to that endpoint, as Basic auth, through the
// request's Auth (which a redirect to another origin does not carry).
#include "remote/registry.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "remote/challenge.h"
#include "remote/credentials.h"

namespace vramsnap::remote {

Result<std::unique_ptr<Registry>> Registry::connect(const OciRef& ref, const RemoteOptions& o, bool push) {
  std::unique_ptr<Registry> r(new Registry);
  r->ref_ = ref;
  VRAMSNAP_ASSIGN_OR_RETURN(r->t_, transport_from(o));
  const bool loopback = is_loopback_host(ref.host);
  r->base_ = (loopback ? "http://" : "https://") + ref.registry;
  r->scope_ = "repository:" + ref.repository + (push ? ":pull,push" : ":pull");
  // A registry gets a bearer token file only when named for it: the ambient
  // $VRAMSNAP_AUTH_FILE is for http(s) URLs, and the registry's own
  // credentials are the docker logins.
  if (!o.auth_file.empty()) {
    VRAMSNAP_ASSIGN_OR_RETURN(r->auth_, load_bearer(o));
  }
  VRAMSNAP_ASSIGN_OR_RETURN(r->login_, load_registry_login(o, ref.registry));
  // --insecure allows plain HTTP, it does not prefer it: a registry that
  // answers over HTTPS keeps TLS (and the logins and tokens stay encrypted);
  // plain HTTP only when HTTPS cannot be spoken to it at all.
  if (!loopback && o.insecure) {
    Request probe;
    probe.url = r->base_ + "/v2/";
    const Exchange ex = r->easy_.perform(probe, r->t_);
    if (!ex.status.ok() && !ex.callback_failed) r->base_ = "http://" + ref.registry;
  }
  return r;
}

Result<std::shared_ptr<const Auth>> Registry::fetch_token(const std::string& header) {
  auto ch = parse_challenge(header);
  if (!ch) return Error(ErrorKind::IO, fmt::format("oci://{}: malformed WWW-Authenticate challenge", ref_.text()));
  if (ch->scheme == "basic") {
    if (!login_)
      return Error(ErrorKind::IO, fmt::format("oci://{}: the registry asks for a login; add one to the docker "
                                              "config.json (--registry-config)", ref_.text()));
    return std::shared_ptr<const Auth>(std::make_shared<Auth>(*login_));
  }
  if (ch->scheme != "bearer" || !ch->params.count("realm"))
    return Error(ErrorKind::IO, fmt::format("oci://{}: unsupported authentication scheme '{}'", ref_.text(),
                                            ch->scheme.substr(0, 32)));
  const std::string realm = ch->params["realm"];
  VRAMSNAP_ASSIGN_OR_RETURN(auto realm_url, parse_http_url(realm));
  VRAMSNAP_TRY(check_scheme(realm_url, t_));
  // A push asks for its own scope (pull,push); a pull takes the challenge's.
  std::string scope = scope_;
  if (!scope_.ends_with(",push") && ch->params.count("scope")) scope = ch->params["scope"];
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (ch->params.count("service")) url += "service=" + url_escape(ch->params["service"]) + "&";
  url += "scope=" + url_escape(scope);
  Request req;
  req.url = url;
  req.auth = login_ ? &*login_ : nullptr;
  req.max_body = 1024 * 1024;
  VRAMSNAP_ASSIGN_OR_RETURN(auto resp, perform_retried(easy_, req, t_));
  if (resp.status != 200) return status_error(resp, redacted(realm) + " (token endpoint)");
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  std::string token;
  if (j.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      auto it = j.find(key);
      if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
        token = it->get<std::string>();
        break;
      }
    }
  }
  if (token.empty() || token.size() > 16 * 1024)
    return Error(ErrorKind::IO, fmt::format("{}: the token endpoint's answer holds no usable token", redacted(realm)));
  for (char c : token)
    if (c < 0x21 || c > 0x7e) return Error(ErrorKind::IO, fmt::format("{}: the token holds invalid characters", redacted(realm)));
  auto a = std::make_shared<Auth>();
  a->kind = Auth::Kind::Bearer;
  a->token = std::move(token);
  return std::shared_ptr<const Auth>(std::move(a));
}

Result<Response> Registry::send(Request req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (req.url.starts_with("/")) req.url = base_ + req.url;
  for (int round = 0;; ++round) {
    req.auth = auth_.get();
    VRAMSNAP_ASSIGN_OR_RETURN(auto resp, perform_retried(easy_, req, t_));
    if (resp.status != 401 || round > 0 || tried_token_) return resp;
    auto challenge = resp.header("www-authenticate");
    if (!challenge) return resp;
    tried_token_ = true;
    challenge_ = *challenge;
    VRAMSNAP_ASSIGN_OR_RETURN(auth_, fetch_token(*challenge));
  }
}

Result<std::shared_ptr<const Auth>> Registry::reauthenticate() {
  std::lock_guard<std::mutex> lock(mu_);
  if (challenge_.empty())
    return Error(ErrorKind::IO, fmt::format("oci://{}: the registry refused the credentials (HTTP 401)", ref_.text()));
  VRAMSNAP_ASSIGN_OR_RETURN(auth_, fetch_token(challenge_));
  return auth_;
}

}  // namespace vramsnap::remote
