#pragma once
// A client for one repository of an OCI registry (the distribution API):
// requests relative to https://REGISTRY/v2/REPO/, with the registry's token
// flow. A 401 carrying `WWW-Authenticate: Bearer realm=..,service=..,scope=..`
// is answered by fetching a token from the realm (with the docker login, if
// any) and trying once more; `Basic` challenges get the login itself.
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "remote/http.h"
#include "remote/location.h"
#include "vramsnap/remote.hpp"

namespace vramsnap::remote {

class Registry {
 public:
  // `push`: ask for pull and push scope.
  static Result<std::unique_ptr<Registry>> connect(const OciRef& ref, const RemoteOptions& options, bool push);

  // "https://REGISTRY" (http for loopback registries, or with --insecure
  // for a registry that cannot speak HTTPS).
  const std::string& base() const { return base_; }
  const OciRef& ref() const { return ref_; }
  const Transport& transport() const { return t_; }
  // The credentials that work for this repository after the last request.
  std::shared_ptr<const Auth> auth() const { return auth_; }

  // Sends `req` (its url a path such as "/v2/REPO/manifests/TAG", or an
  // absolute URL on this registry), authenticating as the registry asks.
  Result<Response> send(Request req);

  // A fresh token for the last challenge (an expired one was refused).
  // Thread-safe, like send().
  Result<std::shared_ptr<const Auth>> reauthenticate();

 private:
  Registry() = default;
  Result<std::shared_ptr<const Auth>> fetch_token(const std::string& challenge_header);

  OciRef ref_;
  Transport t_;
  std::string base_;
  std::string scope_;
  std::optional<Auth> login_;
  std::shared_ptr<const Auth> auth_;
  std::string challenge_;  // the last WWW-Authenticate answered
  bool tried_token_ = false;
  std::mutex mu_;          // one exchange at a time on easy_
  Easy easy_;
};

}  // namespace vramsnap::remote
